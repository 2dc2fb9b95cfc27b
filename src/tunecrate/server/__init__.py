"""``tunecrate serve``: the library over HTTP, with jobs, live events and a web page.

- :mod:`.app`: the FastAPI application and its routes (synciflow's paths);
- :mod:`.runner`: the jobs, run one at a time by one worker, with cancel and a schedule;
- :mod:`.events`: the WebSocket's events, pushed from the pipeline's progress callbacks;
- :mod:`.files`: audio with byte ranges, downloads, streamed ZIPs, M3U8, covers;
- :mod:`.security`: the token, the page's cookie, cross-site requests;
- :mod:`.settings`: the server's settings, the bind and ``Host`` checks;
- :mod:`.serve`: running it under uvicorn;
- ``assets/``: the page, hand-written HTML, CSS and JavaScript (nothing to build).

FastAPI and uvicorn come with the ``tunecrate[server]`` extra; nothing here
is imported by ``tunecrate --help``.
"""
