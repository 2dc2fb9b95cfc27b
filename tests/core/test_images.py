from tunecrate.core.images import Cover, sniff_image_mime


def test_sniff_image_mime_reads_the_magic_bytes_only():
    assert sniff_image_mime(b"\x89PNG\r\n\x1a\n...") == "image/png"
    assert sniff_image_mime(b"\xff\xd8\xff...") == "image/jpeg"
    assert sniff_image_mime(b"<html>") is None
    assert sniff_image_mime(b"GIF89a...") is None
    assert sniff_image_mime(b"") is None


def test_cover_extension_follows_its_mime_type():
    assert Cover(b"", "image/png").extension == ".png"
    assert Cover(b"").extension == ".jpg"
