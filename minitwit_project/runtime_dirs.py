"""The directories MiniTwit writes to while it runs, and a check that it can.

In the container the root filesystem is read-only and the process runs as an unprivileged
user (uid 10001). A tmpfs or volume mounted over a directory belongs to whoever the engine
says, often root, so "the directory exists" says nothing about "we can write there". A
worker that finds out by crashing is restarted by gunicorn, crashes again, and the replica
never serves. `unwritable()` finds out once, in gunicorn's master before any worker forks,
and `describe()` says what to change.

Standard library only: gunicorn's master imports this before Django is set up.
"""

import os
import pwd
import stat
import tempfile


def _probe(directory: str) -> None:
    """Create (if needed) `directory` and a file in it, then remove the file; OSError if not."""
    os.makedirs(directory, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix=".minitwit-write-check-", dir=directory)
    os.close(fd)
    os.remove(path)


def unwritable(directories: dict[str, str]) -> dict[str, tuple[str, OSError]]:
    """The entries of `directories` (purpose -> path) this process cannot create files in.

    Returns purpose -> (path, the error). A path that does not exist yet is created, as the
    app would create it; creating it is part of being writable.
    """
    failed = {}
    for purpose, directory in directories.items():
        try:
            _probe(directory)
        except OSError as exc:
            failed[purpose] = (directory, exc)
    return failed


def _user() -> str:
    uid = os.geteuid()
    try:
        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except KeyError:
        return f"uid {uid}"


def _owner_and_mode(directory: str) -> str:
    """Who owns the directory and its mode, or its nearest existing parent's."""
    path = directory
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    try:
        info = os.stat(path)
    except OSError:
        return "it cannot be inspected"
    owner = f"owned by uid {info.st_uid} with mode {stat.S_IMODE(info.st_mode):04o}"
    if path == directory:
        return f"it is {owner}"
    return f"it does not exist and {path} is {owner}"


def describe(purpose: str, directory: str, error: OSError) -> str:
    """One paragraph for the log: which directory, which user, why, and what fixes it."""
    return (
        f"MiniTwit cannot write to {directory} ({purpose}) as {_user()}: {error.strerror}; "
        f"{_owner_and_mode(directory)}. Fix: make it writable for this user (in a "
        "container: a tmpfs over a directory the image creates with mode 1777, such as /tmp, "
        "or a named volume over a directory the image gives to this user), or point the "
        "setting at a directory that is."
    )
