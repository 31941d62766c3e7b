"""Avatars drawn by the site itself: a symmetric 5x5 identicon per user, as SVG.

The picture depends only on a digest of the username, and the digest is in the URL
(/avatars/v1/<digest>.svg), so a URL always names the same picture: the view needs no
database and browsers may cache it for a year. Nothing about the user's email leaves the
site, and pages need no third-party request. AVATARS=gravatar switches to Gravatar
(README, "Configuration").
"""

import hashlib

# Part of every URL: a change to the drawing gets new URLs, so no browser keeps an old one.
VERSION = "v1"
DIGEST_LENGTH = 32  # hex digits of SHA-256 in the URL; 128 bits, enough to tell users apart
GRID = 5


def username_digest(username: str) -> str:
    """The lowercase hex digest (DIGEST_LENGTH characters) that names USERNAME's avatar."""
    data = f"minitwit-avatar:{username}".encode()
    return hashlib.sha256(data).hexdigest()[:DIGEST_LENGTH]


def identicon_svg(digest: str) -> str:
    """The SVG document (text) for a DIGEST_LENGTH-hex-digit digest.

    The left three columns come from the digest's bits and are mirrored, as GitHub's and
    Gravatar's identicons are; the colour's hue comes from the digest too, at a lightness
    that contrasts with the pale background. Raises ValueError for a digest that is not hex.
    """
    value = int(digest, 16)
    hue = value % 360
    bits = value >> 9
    cells = []
    for column in range(3):
        for row in range(GRID):
            if bits & 1:
                cells.append((column, row))
                if column != GRID - 1 - column:
                    cells.append((GRID - 1 - column, row))
            bits >>= 1
    if not cells:  # an empty picture would look like a missing image
        cells.append((2, 2))
    rects = "".join(f'<rect x="{x + 1}" y="{y + 1}" width="1" height="1"/>' for x, y in cells)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 7 7" width="48" height="48" '
        'shape-rendering="crispEdges">'
        '<rect width="7" height="7" fill="#f0f0f0"/>'
        f'<g fill="hsl({hue} 55% 42%)">{rects}</g></svg>'
    )
