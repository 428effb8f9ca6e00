"""glassnet's files: the only code that reads or writes its JSON files, and the lock by which a run
owns its checkpoint.

A file is written whole through a temporary file and a rename (`AtomicFile`), only onto a
regular file or a new path (`check_destination`), and read back with validation
(`read_model`), never unpickled. Each file format's module registers the call that reads it
(`register_reader`), so that a file given to the wrong reader is told where it belongs.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import socket
import stat
import sys
import threading
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from glassnet import upgrades
from glassnet.rules import first_error

if sys.platform != "win32":
    import fcntl

ModelT = TypeVar("ModelT", bound=BaseModel)


def _kind_of_file(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


def check_destination(path: str | os.PathLike[str], name: str) -> Path:
    """Where a file may be written: a new path or an existing regular file we may replace, in a writable folder.

    Raises ``ValueError`` naming ``name`` (the argument or option) and the path otherwise:
    a folder, a FIFO, a device or a socket is never replaced by a regular file, and a
    read-only file is not replaced silently. Anything but a ``str`` or ``os.PathLike`` path
    is a ``TypeError`` naming ``name``.
    """
    try:
        target = Path(path)
    except TypeError:  # Path's own message names no argument
        raise TypeError(f"{name}: expected a file path (str or os.PathLike), got {type(path).__name__}") from None
    try:
        status = target.stat()
    except FileNotFoundError:
        status = None
    except OSError as error:
        raise ValueError(f"{name} {target}: cannot be checked ({error.strerror or error})") from None
    if status is not None and not stat.S_ISREG(status.st_mode):
        raise ValueError(f"{name} {target}: is {_kind_of_file(status.st_mode)}, expected a regular file to write")
    # the mode bits as well as access(): root may write anywhere, but a file marked read-only is not replaced silently
    if status is not None and (not status.st_mode & 0o222 or not os.access(target, os.W_OK)):
        raise ValueError(f"{name} {target}: is read-only; make it writable or choose another path")
    folder = target.parent
    if not folder.is_dir():
        raise ValueError(f"{name} {target}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{name} {target}: the folder {folder} cannot be written")
    return target


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # at least one does not exist yet: compare where they would be
        return a.resolve() == b.resolve()


def check_outputs(outputs: Mapping[str, Path | None], inputs: Mapping[str, Path | None]) -> None:
    """Refuse, before any work starts, outputs that could not be written or would destroy something.

    ``outputs`` and ``inputs`` map an option name (``"--save"``) to its path or ``None``.
    Every output must pass `check_destination`, and no output may be an input or another output.
    """
    given_inputs = [(name, Path(path)) for name, path in inputs.items() if path is not None]
    seen: list[tuple[str, Path]] = []
    for name, path in outputs.items():
        if path is None:
            continue
        target = check_destination(path, name)
        for other_name, other in given_inputs:
            if _same_file(target, other):
                raise ValueError(f"{name} {target}: is the input {other_name}; it would be overwritten")
        for other_name, other in seen:
            if _same_file(target, other):
                raise ValueError(f"{name} {target}: is also {other_name}; give each output its own file")
        seen.append((name, target))


def _file_mode(target: Path) -> int:
    """The mode an overwritten file keeps, or a new file's default (0666 less the umask)."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


_HOST = ("".join(c if c.isalnum() or c == "-" else "-" for c in socket.gethostname()) or "host")[:64]
"""This machine's name as temporary file names carry it (letters, digits and ``-``, at most 64)."""

NAME_MAX = 255
"""The longest file name, in bytes, where the folder's file system does not say (``os.pathconf``)."""

STALE_UNOWNED_SECONDS = 3600.0
"""A temporary file without an owner in its name (an older glassnet's) is stale after an hour:
no write takes that long between creating its temporary file and renaming it."""

_TEMPORARY_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789_"
"""The letters of the random part of temporary file names, eight of them: ``tempfile.mkstemp``'s, so that the
stale-file pattern also matches an older glassnet's unowned temporaries."""


class AtomicFile:
    """The file ``path``, replaced whole by each `write`, atomically: afterwards either the whole new file is
    there or the old one is untouched.

    The target is checked once, by `check_destination` (``name`` is the argument the message names),
    and the temporary files a killed process left beside it are removed once, before the first write
    (`_remove_stale_temporaries`), so that an interrupt after the new file is in place finds nothing
    left undone. Each write goes through one temporary file in the same folder,
    ``.<name>.<host>.<pid>.<random>.tmp`` (`temporary_name`: the name cut short where the whole would be
    too long for the folder), flushed to disk, then renamed over the target; it is removed on any
    failure. A file written again and again (a checkpoint) pays for the checks once.
    """

    def __init__(self, path: str | os.PathLike[str], *, name: str = "path") -> None:
        self.path, self.name = check_destination(path, name), name
        self._mode = _file_mode(self.path)  # an overwritten file keeps its mode; a new one gets open()'s
        self._temporary: Path | None = None

    def write(self, content: str | bytes) -> None:
        """Replace the file with ``content``: text is written as UTF-8. A failure on disk (a full disk) is a
        `NotWritten` naming the file; the file is then as it was."""
        if self._temporary is None:
            _remove_stale_temporaries(self.path)  # first: once the new file is in place, nothing is left to do
        data = content.encode("utf-8") if isinstance(content, str) else content
        try:
            handle, temporary = self._create_temporary()
        except OSError as error:
            raise NotWritten(error, self.path, self.name) from error
        try:
            with os.fdopen(handle, "wb") as file:
                os.fchmod(file.fileno(), self._mode)  # exactly, whatever the umask
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException as error:
            temporary.unlink(missing_ok=True)
            if isinstance(error, OSError) and not isinstance(error, NotWritten):
                raise NotWritten(error, self.path, self.name) from error
            raise

    def _create_temporary(self) -> tuple[int, Path]:
        """A new temporary file beside the target, open for writing: this writer's name, or a new one if taken."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        while True:
            if self._temporary is None:
                random = "".join(secrets.choice(_TEMPORARY_CHARACTERS) for _ in range(8))
                self._temporary = temporary_name(self.path, f"{_HOST}.{os.getpid()}", random)
            try:
                return os.open(self._temporary, flags, 0o600), self._temporary
            except FileExistsError:  # another file of that name: draw another
                self._temporary = None


def name_max(folder: Path) -> int:
    """The longest file name, in bytes, that ``folder`` takes (`NAME_MAX` where its file system does not say)."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows), or no such folder yet
        return NAME_MAX


def temporary_name(target: Path, owner: str, random: str) -> Path:
    """The temporary file beside ``target`` through which ``owner`` (``<host>.<pid>``) writes it:
    ``.<name>.<owner>.<random>.tmp``, with ``<name>`` cut short, on a character, where the whole would be
    longer than the folder takes (a 240-byte name is a name a folder takes; its temporary file's is not)."""
    tail = f".{owner}.{random}.tmp"
    room = name_max(target.parent) - len(os.fsencode(tail)) - 1
    name = target.name
    while len(os.fsencode(name)) > room:
        name = name[:-1]
    return target.with_name(f".{name}{tail}")


class NotWritten(OSError):
    """A file that could not be written (a full disk, a failing device): the message names it, as ``name`` (the
    argument or option) and path, and says why; ``errno`` is the system's."""

    def __init__(self, error: OSError, path: Path, name: str) -> None:
        super().__init__(error.errno, error.strerror or str(error), str(path))
        self.name = name

    def __str__(self) -> str:
        return f"{self.name} {self.filename}: cannot be written: {self.strerror}"


DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
"""The errors of a disk (or a quota) with no room left: freeing space is the remedy."""


def write_atomically(path: str | os.PathLike[str], content: str | bytes, *, name: str = "path") -> None:
    """Write ``content`` to ``path`` once, as `AtomicFile` writes it (``name`` is the argument messages name)."""
    AtomicFile(path, name=name).write(content)


def _remove_stale_temporaries(target: Path) -> None:
    """Remove the temporary files of earlier writes of ``target`` whose writer is gone.

    Only files of the exact names `AtomicFile` gives them (`temporary_name`), beside ``target``: those of
    a process of this machine that no longer runs (a ``kill -9`` mid-write), and those without an owner in
    the name (older versions) that are over `STALE_UNOWNED_SECONDS` old. A file of a live process, of
    another machine (a shared folder) or of any other name is left alone; a file that cannot be removed too.
    """
    random = f"[{re.escape(_TEMPORARY_CHARACTERS)}]{{8}}"
    owned = re.compile(rf"\..+\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.(?P<random>{random})\.tmp")
    unowned = re.compile(rf"\.{re.escape(target.name)}\.{random}\.tmp")
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        found = owned.fullmatch(name)
        if (
            found is not None
            and name != temporary_name(target, f"{found['host']}.{found['pid']}", found["random"]).name
        ):
            found = None  # another file's, or of another shape
        if found is None and not unowned.fullmatch(name):
            continue
        stale_file = target.parent / name
        try:
            if found is None:
                stale = time.time() - stale_file.lstat().st_mtime > STALE_UNOWNED_SECONDS
            else:
                stale = found["host"] == _HOST and not _running(int(found["pid"]))
            if stale and stat.S_ISREG(stale_file.lstat().st_mode):
                stale_file.unlink()
        except OSError:
            continue


class InUse(OSError):
    """A file that another process owns (`Owned`): the message names the file, the process and what to do."""

    def __str__(self) -> str:
        return str(self.strerror)


_OWNED: dict[str, list[int]] = {}
"""The lock files this process holds, by absolute path: the open descriptor that holds the lock, and how many
`Owned` objects of this process share it."""
_OWNED_GUARD = threading.Lock()


class Owned:
    """The file ``path`` owned by this process while the object lives (or until `release`): an exclusive lock
    (``flock``) on ``<path>.lock`` beside it, which holds the owner's process id.

    Another process that asks for the file while this one owns it gets an `InUse` naming the file and this
    process. Objects of one process share its lock (a notebook may go on with a run loaded from a file its
    earlier run still owns); the lock is let go, and its file removed, when the last of them is released or
    collected, or the process ends, however it ends (a ``kill -9``'s lock file is left, and taken by the next
    owner). Where there is no ``flock`` (Windows) or the file system has none, nothing is locked.
    """

    def __init__(self, path: Path, name: str = "path") -> None:
        self.lock = path.with_name(f"{path.name}.lock")
        key = os.path.join(os.path.realpath(path.parent), self.lock.name)
        with _OWNED_GUARD:
            held = _OWNED.get(key)
            if held is None:
                held = _OWNED[key] = [_take(self.lock, path, name), 0]
            held[1] += 1
        self._release = weakref.finalize(self, _let_go, key, self.lock)

    def release(self) -> None:
        """Let the file go (once; later calls do nothing)."""
        self._release()


def _take(lock: Path, path: Path, name: str) -> int:
    """The descriptor of ``lock``, locked and holding this process's id; `InUse` if another process holds it."""
    if sys.platform == "win32":
        return -1
    while True:
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 32).decode("ascii", "replace").strip()
            os.close(descriptor)
            who = f"process {holder}" if holder.isdigit() else "another process"
            raise InUse(
                errno.EBUSY,
                f"{name} {path}: in use by {who}, whose run writes it (its lock: {lock}); wait for that run to end, "
                "or stop it, then try again",
            ) from None
        except OSError:  # a file system without locks: go on unlocked
            os.close(descriptor)
            return -1
        try:
            mine = os.path.samestat(os.fstat(descriptor), os.stat(lock))
        except FileNotFoundError:
            mine = False
        if mine:  # not a file its last owner removed after we opened it
            os.ftruncate(descriptor, 0)
            os.write(descriptor, f"{os.getpid()}\n".encode("ascii"))
            return descriptor
        os.close(descriptor)


def _let_go(key: str, lock: Path) -> None:
    """One `Owned` of ``key`` fewer: the last one removes the lock file, then unlocks it."""
    with _OWNED_GUARD:
        held = _OWNED[key]
        held[1] -= 1
        if held[1]:
            return
        del _OWNED[key]
    descriptor = held[0]
    if descriptor < 0:
        return
    try:
        if os.path.samestat(os.fstat(descriptor), os.stat(lock)):
            lock.unlink()
    except OSError:
        pass
    os.close(descriptor)


def _running(pid: int) -> bool:
    """Whether process ``pid`` of this machine runs (on Windows, where no signal can ask, always ``True``)."""
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True


LOADERS: dict[str, str] = {}
"""Each glassnet file format and the call that reads it, for messages about a file given to the wrong one:
the module that defines a format registers it (`register_reader`), at import."""


def register_reader(model: type[BaseModel], reader: str) -> None:
    """Name ``reader`` (the call that reads ``model``'s files) in messages about such a file given to another one.

    The format is ``model``'s ``format`` field's default (``"glassnet.network"``); a format has one reader.
    """
    found = model.model_fields["format"].default
    if not isinstance(found, str):
        raise TypeError(f"model: expected a record with a format name, got {model.__name__}")
    if LOADERS.setdefault(found, reader) != reader:
        raise ValueError(f"reader: {found} files are read with {LOADERS[found]}, got {reader!r}")


class WrongFormat(ValueError):
    """A glassnet file of another format (``found``) than the one asked for (``expected``)."""

    def __init__(self, path: str | os.PathLike[str], model: type[BaseModel], found: str, expected: str) -> None:
        self.path, self.model, self.found, self.expected = path, model, found, expected
        super().__init__(self.advising(f"read it with {LOADERS[found]}"))

    def advising(self, advice: str) -> str:
        """The message, with ``advice`` (what to do with the file) in place of the library call that reads it."""
        found = f"it is a {self.found} file, not a {self.expected} file"
        return f"{self.path}: not a valid {self.model.__name__}: {found}: {advice}"


def _format_of(text: str) -> object:
    """The ``format`` field of a JSON document, or ``None``."""
    try:
        return json.loads(text).get("format")
    except (ValueError, AttributeError, RecursionError):
        return None


def _upgraded(text: str, model: type[BaseModel]) -> str:
    """``text``, a ``model`` file, in the current version of its format (`glassnet.upgrades`); ``text`` itself when
    it needs no upgrade or is no JSON, for validation to say what is wrong with it."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return text
    upgraded = upgrades.upgraded(document, model)  # a ValueError says where an older file contradicts itself
    return text if upgraded is document else json.dumps(upgraded)


def read_model(path: str | os.PathLike[str], model: type[ModelT], context: dict[str, Any] | None = None) -> ModelT:
    """Read a JSON file as ``model``: upgraded from an older version of its format (`glassnet.upgrades`), then
    validated (its validators given ``context``); every failure is a ``ValueError`` naming the file, a
    `WrongFormat` when it is another glassnet format."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read: {error}") from None
    try:
        return model.model_validate_json(_upgraded(text, model), context=context)
    except ValidationError as error:
        found, expected = (
            _format_of(text),
            model.model_fields["format"].default if "format" in model.model_fields else None,
        )
        if isinstance(found, str) and found in LOADERS and found != expected:
            raise WrongFormat(path, model, found, str(expected)) from None
        raise ValueError(f"{path}: not a valid {model.__name__}: {first_error(error)}") from None
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path}: not a valid {model.__name__}: {error}") from None
