"""The tests' stand-ins: the demo's loopback servers plus fault injection and request logs."""
