"""Putting documents into an output folder so that the register and the folder change together.

An output folder ``OUT`` holds one folder per month (``OUT/YYYY-MM``) that accumulates the
month's documents: originals, corrections, cancellations, drafts, statements and the summary.
Issued files are never rewritten or removed.

Publishing, step by step (``STEPS``; each name is a point a run can be killed at in tests,
``XLQUOTE_FAULT_AT=<step>``):

1. ``recorded``: the register records the documents about to be published (state
   ``pending``, with their content and file names) in one transaction with their numbers.
2. ``staged``: their files are drawn into a hidden staging folder inside the month's folder.
3. ``publishing`` / ``published``: the files are moved to their names, one by one.
4. ``marked``: the register marks the documents issued, with each file's SHA-256.
5. ``working``: drafts and statements are written (and the ones no longer due removed).
6. ``summary``: the month's summary (請求一覧) is written.

A run that dies anywhere leaves pending documents whose content the register holds. The next
run on the folder (it holds the folder's lock, so the dead run is not running) finishes those
it had begun to put in place (the register records their files just before the first is
moved): it draws them again, puts them in place and marks them (``recover``), whether or not
their files are still there. Those it had not begun to put in place were never published: the
register forgets them and gives their numbers back (where no later number was handed out),
and the run bills their contracts from the workbook as it is now, so a document nobody
received is neither issued from old content nor corrected. No number ever stands for two
documents. A run that fails while alive (disk full) removes what it put in place and forgets
its pending documents: nothing changed; when even the register cannot be written then, the
next run forgets them.

The folder is locked on its own (``OUT/.xlquote.lock``), whatever register is used, and it
remembers the register that numbers its documents (``OUT/.xlquote-folder.json``): a run with
another register is refused instead of numbering over them; a run naming none uses a server
register the folder remembers. A copy of the folder (or of its register file) is refused while
the original is still there: it would hand out the original's numbers again. A folder moved as
a whole carries on, and its marker and the register learn where it is.

A register a team shares (PostgreSQL) numbers documents published from several folders (each
clerk's, the server's). A folder gets the files of what runs on it publish; documents issued
from another folder are listed (the register notes where each folder is), and drawn here too
only when asked (``copies``).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ..engine.dates import Month
from ..engine.errors import OutputError
from ..engine.invoice import Cancellation, Correction
from ..engine.settings import Settings
from .documents import (
    ROLES,
    Header,
    Rendered,
    RenderJob,
    cancellation_stem,
    current_umask,
    decode_contract,
    decode_settings,
    file_sha256,
    render,
    timestamp,
)
from .parallel import DEFAULT_CHUNK, MIN_PARALLEL, Executor, Job, local_executor
from .register import Issued, Ledger, Register, RegisterError, register_id_in_file

LOCK_NAME = ".xlquote.lock"
REGISTER_FILE_KEY = "file"  # register_info: where a register file was last opened
MARKER_NAME = ".xlquote-folder.json"
STAGING_PREFIX = ".staging-"
FAULT_ENV = "XLQUOTE_FAULT_AT"
FAULT_EXIT = 86
STEPS = ("recorded", "staged", "publishing", "published", "marked", "working", "summary")
# A document's compressed content (its lines and statement rows) that costs about as much to
# draw as one small invoice: a statement of 50,000 incidents (~0.3–2 MB) takes ~3 s, a small
# invoice ~10 ms.
DOCUMENT_CONTENT_BYTES = 16 * 2**10
CANCELLATION_ROLE = "cancellation."  # file roles of a cancelling document: cancellation.xlsx, …

Progress = Callable[[str, int, int], None]  # (step, done, total)


def checkpoint(step: str) -> None:
    """A step boundary of publishing. Tests kill the run here (``XLQUOTE_FAULT_AT``) to prove
    that the next run repairs whatever a crash at that point leaves."""
    if os.environ.get(FAULT_ENV) == step:
        os._exit(FAULT_EXIT)


def describe_os_error(exc: OSError) -> str:
    """One line for a failed write, in the clerk's terms."""
    hints = {
        errno.ENOSPC: "ディスクの空きがありません",
        errno.EDQUOT: "ディスクの容量制限に達しました",
        errno.EACCES: "書き込む権限がありません",
        errno.EPERM: "書き込む権限がありません",
        errno.EROFS: "読み取り専用のフォルダです",
        errno.ENAMETOOLONG: "ファイル名またはパスが長すぎます",
        errno.ENOTDIR: "フォルダであるべき場所がファイルです",
        errno.EEXIST: "フォルダであるべき場所がファイルです",
        errno.EISDIR: "その名前のフォルダがあります",
        errno.ENOENT: "その場所はありません (フォルダを作れない場所か、途中のフォルダが消えました)",
    }
    detail = exc.strerror or str(exc)  # the OS's own words, once
    hint = hints.get(exc.errno or 0)
    where = f"{exc.filename}: " if exc.filename else ""
    return f"書き込めません: {where}" + (f"{hint} ({detail})" if hint else detail)


class WriteFailed(OutputError):
    """A file or folder could not be written; what the run had changed was undone (exit 3)."""


@contextlib.contextmanager
def write_errors(undone: str = "何も変更していません") -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise WriteFailed(f"{describe_os_error(exc)}。{undone}") from None


def make_folder(path: Path) -> Path:
    """``path`` and its parents, as the umask says (an existing file there is an error)."""
    with write_errors():
        if path.exists() and not path.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
        path.mkdir(parents=True, exist_ok=True)
    return path


def missing_folders(path: Path) -> list[Path]:
    """``path`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists() or folder.is_symlink():
            break
        missing.append(folder)
    return missing


def _file_records(jobs: Sequence[RenderJob], rendered: Mapping[str, Rendered]
                  ) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """The files drawn for numbered ``jobs`` as the register records them: number → (role →
    SHA-256, role → error of a file that could not be made); a cancellation's roles prefixed."""
    files: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
    for job in jobs:
        drawn = rendered.get(job_key(job))
        if drawn is None or not job.number:
            continue
        prefix = CANCELLATION_ROLE if job.cancellation is not None else ""
        made, failed = files.setdefault(job.number, ({}, {}))
        made.update({prefix + r: h for r, h in drawn.sha256.items()})
        failed.update({prefix + r: e for r, e in drawn.errors.items()})
    return files


def remove_empty(folders: Sequence[Path]) -> None:
    """``folders`` (a run's new folders, deepest first) removed while they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # something is there (now): it stays, and the folders above it
            break


def folder_lock(folder: Path, timeout: float, busy: str) -> FileLock:
    """``folder``'s lock (``LOCK_NAME``), acquired: one run at a time works in a folder.
    ``busy``: the message when another run holds it longer than ``timeout`` seconds."""
    lock = FileLock(folder / LOCK_NAME, timeout=timeout)
    with write_errors():
        try:
            lock.acquire()
        except Timeout:  # a TimeoutError, an OSError: named here, not by write_errors
            raise WriteFailed(busy) from None
    return lock


class OutputFolder:
    """``OUT`` locked for one run: ``with OutputFolder(out, register) as folder: …``.

    A run that created ``OUT`` (``new_folders``: the folders it created, deepest first; by
    default those missing now) and leaves nothing in it but its lock removes the lock and
    those folders again: a run that could not start leaves no trace. A folder that existed
    before is never removed."""

    def __init__(self, root: str | Path, register: Register, timeout: float = 60.0,
                 new_folders: Sequence[Path] | None = None) -> None:
        self.root = Path(root)
        self.new_folders = missing_folders(self.root) if new_folders is None else new_folders
        self.register = register
        self.timeout = timeout
        self.folder_id = ""
        self._lock: FileLock | None = None
        self.file_mode = 0o666 & ~current_umask()

    def __enter__(self) -> OutputFolder:
        make_folder(self.root)
        lock = folder_lock(self.root, self.timeout,
                           f"{self.root} では別の請求書作成が実行中です ({self.timeout:.0f} 秒"
                           "待ちました)。終わってからもう一度実行してください")
        self._lock = lock
        try:
            self.folder_id, moved_marker = self._marker()
            with self.register.transaction() as ledger:
                self._refuse_a_copied_register_file(ledger)
                self._refuse_a_copy_of_another_folder(ledger)
                if moved_marker is not None:  # written once nothing refuses the run
                    self._write_marker(moved_marker)
                ledger.note_folder(self.folder_id, str(self.root.absolute()))
        except BaseException:
            self._release(lock)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            self._release(self._lock)

    def _release(self, lock: FileLock) -> None:
        unused = (bool(self.new_folders) and self.root in self.new_folders
                  and [p.name for p in self.root.iterdir()] == [LOCK_NAME])
        if unused:  # removed while still held: no other run has started here
            (self.root / LOCK_NAME).unlink(missing_ok=True)
        lock.release()
        if unused:
            remove_empty(self.new_folders)

    def _marker(self) -> tuple[str, dict[str, Any] | None]:
        """This folder's id, and a check that ``register`` is the one that numbers it (and not
        a copy of it). Second: the marker to write again when the register is now elsewhere
        (the folder, or a register file named for it, was moved), else None."""
        path = self.root / MARKER_NAME
        if path.is_file():
            try:
                marker = json.loads(path.read_text(encoding="utf-8"))
                folder_id, register_id = marker["folder_id"], marker["register_id"]
            except (ValueError, KeyError, TypeError, OSError):
                marker, folder_id, register_id = {}, "", ""
            if folder_id:
                if not self.register.exists() or self.register.register_id != register_id:
                    raise RegisterError(
                        f"{self.root} の請求書は別の請求番号台帳 ({marker.get('register')}) で"
                        f"番号を付けています。その台帳を --register で指定するか、別の --out を"
                        f"使ってください (指定された台帳: {self.register.display})")
                remembered = marker.get("register_location")
                if isinstance(remembered, str) and self._in_use(remembered):
                    return str(folder_id), None
                if isinstance(remembered, str):
                    self._refuse_a_copied_register(remembered)
                return str(folder_id), {**marker, "register": self.register.display,
                                        "register_location": self.register.location}
        folder_id = uuid.uuid4().hex
        self._write_marker({"folder_id": folder_id, "register_id": self.register.register_id,
                            "register": self.register.display,
                            "register_location": self.register.location,
                            "created_at": timestamp()})
        return folder_id, None

    def _write_marker(self, data: Mapping[str, Any]) -> None:
        path = self.root / MARKER_NAME
        with write_errors():
            temp = path.with_name(path.name + ".tmp")
            temp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n",
                            encoding="utf-8")
            os.replace(temp, path)

    def _in_use(self, location: str) -> bool:
        """``location`` (a marker's) names the register in use, however it is written."""
        if location == self.register.location:
            return True
        path = self.register.path
        return path is not None and "://" not in location and _same_place(Path(location), path)

    def _refuse_a_copied_register(self, remembered: str) -> None:
        """Refuse a register file that is a copy of the one the marker remembers, while that
        one is still there (``_refuse_a_copy_of``): a folder copied with its
        ``register.sqlite3``, a register file copied and named. A server's register is not
        checked: a copied database keeps the folder's record of where it was
        (``_refuse_a_copy_of_another_folder``)."""
        if "://" not in remembered:
            self._refuse_a_copy_of(Path(remembered))

    def _refuse_a_copy_of(self, original: Path) -> None:
        """Refuse the register file in use when ``original``, another file, holds the same
        register: both would hand out the same numbers. Where ``original`` holds it no more,
        the file (or its folder) was moved: the run goes on."""
        path = self.register.path
        if (path is None or _same_place(original, path)
                or register_id_in_file(original, self.register.timeout)
                != self.register.register_id):
            return
        raise RegisterError(
            f"請求番号台帳 {self.register.display} は {original} にある台帳のコピーです。番号を"
            "付けると元の台帳と同じ請求番号が別の書類に付いてしまいます。請求書は元の台帳で作って"
            "ください (フォルダごとコピーしたのなら元のフォルダで)。台帳やフォルダの場所を変える"
            "ときは、コピーではなく移動してください。何も変更していません")

    def _refuse_a_copied_register_file(self, ledger: Ledger) -> None:
        """A register file records where it is (``REGISTER_FILE_KEY``). Opened elsewhere while
        a file of the same register id is still there, it is a copy (a folder copied without
        its hidden marker, a register file copied for a new folder): refused, as it would hand
        out the original's numbers. Where that place holds it no more, the file was moved, and
        it records where it is now."""
        path = self.register.path
        if path is None:
            return
        here = str(path.absolute())
        recorded = ledger.info(REGISTER_FILE_KEY)
        if recorded == here:
            return
        if recorded is not None:
            self._refuse_a_copy_of(Path(recorded))
        ledger.set_info(REGISTER_FILE_KEY, here)

    def _refuse_a_copy_of_another_folder(self, ledger: Ledger) -> None:
        """Refuse a run when the register last saw this folder's id at another path of this
        machine and that folder is still there with the same id: one is a copy of the other.
        Both would take the same folder's numbers, and one would withdraw what the other's run
        has under way (its numbers handed out again). A folder whose former place is gone (or
        holds another folder) was moved; another machine's path cannot be looked at."""
        place = ledger.folder_place(self.folder_id)
        if place is None:
            return
        host, recorded = place
        other = Path(recorded)
        if (host != socket.gethostname() or recorded == str(self.root.absolute())
                or _same_place(other, self.root) or _folder_id(other) != self.folder_id):
            return
        raise RegisterError(
            f"{self.root} と {other} は同じフォルダのコピーです (どちらも同じフォルダ ID を持って"
            "います)。両方で請求書を作ると、一方で処理中の書類をもう一方が片付けてしまい、同じ"
            f"請求番号が2つの書類に付くことがあります。請求書は {other} で作ってください。"
            "フォルダの場所を変えるときは、コピーではなく移動してください。何も変更していません")

    def month_folder(self, month: Month | str) -> Path:
        folder = self.root / str(month)
        make_folder(folder)
        for stale in folder.glob(f"{STAGING_PREFIX}*"):  # left by a run that died
            shutil.rmtree(stale, ignore_errors=True)
        return folder


def _same_place(first: Path, second: Path) -> bool:
    """``first`` and ``second`` are one file or folder, however each is written."""
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them is not there
        return False


def _marker_field(root: Path, key: str) -> Any:
    """One field of the marker of the output folder ``root``; None where the folder has no
    readable marker, or the marker no such field."""
    try:
        return json.loads((root / MARKER_NAME).read_text(encoding="utf-8")).get(key)
    except (OSError, ValueError, AttributeError):
        return None


def _folder_id(root: Path) -> str | None:
    """The id the marker of the output folder ``root`` gives it, if it has one."""
    folder_id = _marker_field(root, "folder_id")
    return folder_id if isinstance(folder_id, str) else None


def remembered_register(root: str | Path) -> str | None:
    """The server register (its URL, without a password) that numbers the folder ``root``'s
    documents, if its marker names one. A register file is never taken from the marker: it
    stays with the folder (``OUT/register.sqlite3``) or is named on each run."""
    location = _marker_field(Path(root), "register_location")
    return location if isinstance(location, str) and "://" in location else None


@dataclass
class Published:
    """What one publishing pass did."""

    rendered: dict[str, Rendered] = field(default_factory=dict)  # job key → files made
    differing: list[str] = field(default_factory=list)  # issued files that differ from record
    pdf_errors: dict[str, str] = field(default_factory=dict)  # job key → error
    placed: list[Path] = field(default_factory=list)  # files of the run's new documents

    def undo(self) -> None:
        """Remove the files of the run's new documents (they were never marked issued)."""
        for path in self.placed:
            with contextlib.suppress(OSError):
                path.unlink()


def _drawing_plan(jobs: Sequence[RenderJob]) -> tuple[list[int], int, int | None]:
    """The order to draw ``jobs`` in (the costliest first, so that none is left running alone
    at the end), the jobs a chunk holds and the least number of jobs worth other processes
    (None: the executor's own). Costs are counted in small invoices: a month of a few
    statements of tens of thousands of rows is drawn on every core, one by one."""
    costs = [1 + len(job.content or b"") / DOCUMENT_CONTENT_BYTES for job in jobs]
    total = sum(costs)
    # By whole small invoices: a month of ordinary invoices keeps its order (a chunk is a run
    # of numbers, as an error names it).
    order = sorted(range(len(jobs)), key=lambda i: -int(costs[i]))
    chunk = max(1, min(DEFAULT_CHUNK, int(DEFAULT_CHUNK * len(jobs) / max(total, 1))))
    return order, chunk, (2 if total >= MIN_PARALLEL else None)


def ensure_ours(ledger: Ledger, folder_id: str, numbers: Sequence[str],
                cancelling: Sequence[str]) -> None:
    """Refuse to go on with pending documents (``numbers``) and cancellations (``cancelling``)
    a run on ``folder_id`` no longer holds: settled from another folder (``register settle``)
    while it was away, their numbers perhaps handed out again. Called with the month locked."""
    taken = ledger.taken_from(folder_id, numbers, cancelling)
    if taken:
        raise RegisterError(
            f"{', '.join(taken[:5])}{' …' if len(taken) > 5 else ''} は、この実行の途中で"
            "別の場所から片付けられました (xlquote register settle)。この実行では何も発行して"
            "いません。もう一度実行してください")


def job_key(job: RenderJob) -> str:
    return (CANCELLATION_ROLE if job.cancellation is not None else "") + (job.number or job.stem)


def _place(staged: Path, final: Path, overwrite: bool) -> bool:
    """Move a staged file to its name. An issued document's existing file is never replaced
    (``overwrite`` False): False when one is already there."""
    if overwrite:
        os.replace(staged, final)
        return True
    try:
        os.link(staged, final)  # fails if ``final`` exists: never replaces it
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        if final.exists():  # a file system without hard links; the folder is locked
            return False
        os.replace(staged, final)
        return True
    staged.unlink()
    return True


class Publisher:
    """Publishing into one locked output folder (see the module's docstring)."""

    def __init__(self, folder: OutputFolder, register: Register, pdf: bool,
                 progress: Progress | None = None, executor: Executor | None = None,
                 copies: bool = False) -> None:
        self.folder = folder
        self.register = register
        self.roles = ("xlsx", "pdf") if pdf else ("xlsx",)
        self.report = progress or (lambda step, done, total: None)
        self.executor = executor  # None: this machine's, for each drawing
        self.copies = copies  # draw documents issued from other folders here too
        self._settings: dict[str, Settings] = {}  # by hash: a month's documents share a few
        self.pdfs_written: dict[str, int] = {}  # document kind → PDF files put in place
        self.glyphless: dict[str, str] = {}  # PDF put in place → characters printed as boxes

    # --- drawing and moving ------------------------------------------------------------------

    def draw(self, month: Month | str, jobs: Sequence[RenderJob],
             fresh: Iterable[str] = (), step: str = "documents") -> Published:
        """Draw ``jobs`` and put their files in the month's folder. Numbers in ``fresh`` are
        this run's new pending documents: if anything fails, their files are removed again
        (the caller forgets them in the register)."""
        folder = self.folder.month_folder(month)
        out = Published()
        if not jobs:
            return out
        fresh = set(fresh)
        staging = folder / f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}"
        try:
            with write_errors():
                staging.mkdir()
            total = len(jobs)
            self.report(step, 0, total)
            order, chunk, least = _drawing_plan(jobs)
            drawing = Job("writing documents", functools.partial(render, folder=staging),
                          lambda i: jobs[order[i]],
                          lambda i: jobs[order[i]].number or jobs[order[i]].stem, least)
            with contextlib.ExitStack() as owned:
                executor = self.executor or owned.enter_context(local_executor())
                drawn = executor.map(drawing, total,
                                     lambda done: self.report(step, done, total), chunk)
            results = [drawn[i] for i in sorted(range(total), key=order.__getitem__)]  # jobs' order
            checkpoint("staged")
            # Before the first file is in place, the register learns the pending documents'
            # files: from here on they may have been seen (or moved away), and a run that
            # dies finishes them rather than handing their numbers out again (``recover``).
            drawn_jobs = dict(zip(map(job_key, jobs), results, strict=True))
            about_to_publish = [job for job in jobs if job.overwrite]
            if about_to_publish:
                with self.register.transaction() as ledger:
                    # the month locked: a settle waits, and then finds the files recorded
                    ledger.lock_month(Month.parse(str(month)))
                    self._still_ours(ledger, about_to_publish)
                    ledger.set_files(_file_records(about_to_publish, drawn_jobs))
            first = True
            for job, rendered in zip(jobs, results, strict=True):
                key = job_key(job)
                out.rendered[key] = rendered
                if "pdf" in rendered.errors:
                    out.pdf_errors[key] = rendered.errors["pdf"]
                for role, digest in rendered.sha256.items():
                    staged, final = staging / job.name(role), folder / job.name(role)
                    os.chmod(staged, self.folder.file_mode)
                    if _place(staged, final, job.overwrite):
                        if job.number in fresh:
                            out.placed.append(final)
                        if role == "pdf":
                            self.pdfs_written[job.kind] = self.pdfs_written.get(job.kind, 0) + 1
                            if rendered.glyphless:
                                self.glyphless[final.name] = rendered.glyphless
                    elif file_sha256(final) != digest:
                        out.differing.append(final.name)
                    if first:
                        checkpoint("publishing")
                        first = False
            checkpoint("published")
        except BaseException:
            out.undo()
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return out

    def _still_ours(self, ledger: Ledger, jobs: Sequence[RenderJob]) -> None:
        """``ensure_ours`` for the pending documents and cancellations among ``jobs``."""
        numbered = [job for job in jobs if job.number]
        ensure_ours(ledger, self.folder.folder_id,
                    [job.number for job in numbered if job.cancellation is None],
                    [job.number for job in numbered if job.cancellation is not None])

    # --- recovery ----------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Finish what a dead run on this folder left pending: draw, place, mark. A pending
        document that never came to be put in place (the run died or failed before its files
        were recorded, ``draw``) was never published: it is withdrawn instead. Returns the
        numbers finished."""
        with self.register.reading() as ledger:
            pending = ledger.pending(self.folder.folder_id)
        # never published: no file recorded as about to be put in place (nor one in place,
        # from a register older than that record)
        unpublished = [doc for doc in pending if doc.state == "pending" and not doc.files
                       and not any(self._in_place(doc, role) for role in ROLES)]
        if unpublished:
            with self.register.transaction() as ledger:
                for month in sorted({doc.month for doc in unpublished}):
                    docs = [doc for doc in unpublished if doc.month == month]
                    ledger.withdraw(Month.parse(month), [doc.number for doc in docs],
                                    self.folder.folder_id)
            withdrawn = {doc.number for doc in unpublished}
            pending = [doc for doc in pending if doc.number not in withdrawn]
        if not pending:
            return []
        with self.register.reading() as ledger:
            jobs_by_month: dict[str, list[RenderJob]] = {}
            for doc in pending:
                for job in self.jobs_for(ledger, doc, missing_only=False):
                    jobs_by_month.setdefault(doc.month, []).append(job)
        finished: list[str] = []
        for month, jobs in jobs_by_month.items():
            published = self.draw(month, jobs)
            finished += self.mark(month, jobs, published)
        return finished

    def _in_place(self, doc: Issued, role: str) -> bool:
        return (self.folder.root / doc.month / f"{doc.file_stem}.{role}").exists()

    def mark(self, month: str | Month, jobs: Sequence[RenderJob], published: Published
             ) -> list[str]:
        """Step 4: record the files made and mark pending documents issued."""
        done: list[str] = []
        issued: list[str] = []
        with self.register.transaction() as ledger:
            ledger.lock_month(Month.parse(str(month)))
            for job in jobs:
                if job_key(job) not in published.rendered or not job.number:
                    continue
                if job.overwrite:  # it was pending
                    if job.cancellation is not None:
                        ledger.mark_cancelled(job.number)
                    else:
                        issued.append(job.number)
                    done.append(job.number)
            ledger.set_files(_file_records(jobs, published.rendered))
            ledger.mark_issued(issued)
        checkpoint("marked")
        return done

    # --- what a document needs ---------------------------------------------------------------

    def jobs_for(self, ledger: Ledger, doc: Issued, missing_only: bool = True,
                 content: bytes | None = None) -> list[RenderJob]:
        """The files ``doc`` (and its cancellation) should have in this folder: all of them
        for a pending document, else the missing ones — of documents published from this
        folder (or from any, with ``copies``). Documents recorded without content (by the
        first register) are never drawn again."""
        folder = self.folder.root / doc.month
        jobs: list[RenderJob] = []
        mine = doc.folder_id == self.folder.folder_id
        pending = doc.state == "pending" and mine
        roles = self._roles(folder, doc.file_stem, missing_only and not pending)
        needs_invoice = roles and ((doc.state == "issued" and (mine or self.copies)) or pending)
        cancellation = doc.cancellation
        cancel_here = (cancellation is not None
                       and cancellation.folder_id == self.folder.folder_id)
        cancel_pending = cancel_here and cancellation is not None and (
            cancellation.state == "pending")
        cancel_copy = self.copies and cancellation is not None and cancellation.state == "issued"
        cancel_roles = () if not (cancel_here or cancel_copy) else self._roles(
            folder, cancellation_stem(doc.file_stem), missing_only and not cancel_pending)
        if not needs_invoice and not cancel_roles:
            return []
        contract_json = None
        if content is None or cancel_roles:
            stored, contract_json = ledger.content(doc.number)
            content = content or stored
        month = Month.parse(doc.month)
        if needs_invoice and content is not None and doc.settings_hash:
            jobs.append(RenderJob(
                month, doc.file_stem, roles, self._settings_of(ledger, doc.settings_hash),
                content=content, header=self.header(ledger, doc), number=doc.number,
                overwrite=pending))
        if cancel_roles and cancellation is not None and contract_json is not None:
            jobs.append(RenderJob(
                month, cancellation_stem(doc.file_stem), cancel_roles,
                self._settings_of(ledger, cancellation.settings_hash),
                cancellation=Cancellation(
                    doc.number, decode_contract(contract_json), month, doc.issue_date,
                    doc.subtotal, doc.tax, doc.total, cancellation.cancelled_on,
                    cancellation.reason, doc.corrects),
                number=doc.number, overwrite=cancel_pending))
        return jobs

    def damaged_files(self, doc: Issued) -> list[str]:
        """The files of ``doc`` (and of its cancellation) issued from this folder that are in
        place but no longer hold the bytes the register recorded (truncated, overwritten,
        edited)."""
        if doc.state != "issued":
            return []
        here = self.folder.folder_id
        cancellation = doc.cancellation
        damaged = []
        for role, record in doc.files.items():
            stem, extension = doc.file_stem, role
            if role.startswith(CANCELLATION_ROLE):
                if cancellation is None or cancellation.folder_id != here or (
                        cancellation.state != "issued"):
                    continue
                stem, extension = cancellation_stem(stem), role.removeprefix(CANCELLATION_ROLE)
            elif doc.folder_id != here:
                continue
            path = self.folder.root / doc.month / f"{stem}.{extension}"
            if record.sha256 and path.is_file() and file_sha256(path) != record.sha256:
                damaged.append(path.name)
        return damaged

    def _settings_of(self, ledger: Ledger, digest: str) -> Settings:
        found = self._settings.get(digest)
        if found is None:
            found = self._settings[digest] = decode_settings(ledger.settings(digest))
        return found

    def _roles(self, folder: Path, stem: str, missing_only: bool) -> tuple[str, ...]:
        if not missing_only:
            return self.roles
        return tuple(r for r in self.roles if not (folder / f"{stem}.{r}").exists())

    @staticmethod
    def header(ledger: Ledger, doc: Issued) -> Header:
        correction = None
        if doc.corrects:
            original = ledger.document(doc.corrects)
            assert original is not None
            correction = Correction(original.number, original.subtotal, original.tax,
                                    original.total, original.issue_date)
        assert doc.due_date is not None
        return Header(doc.number, doc.kind, doc.issue_date, doc.due_date, correction)
