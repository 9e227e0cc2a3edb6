"""Settling a document a stopped run left half-way in another output folder
(``xlquote register settle``).

A run records its new documents (and a void its cancellation) as pending, records their files
just before it puts the first in place, then marks them issued. A run that stops is finished
by the next run on its folder (``Publisher.recover``). When that folder is gone (a lost
laptop, a deleted share), its pending documents would stay pending for ever, and every other
folder's run would name them (``pending_elsewhere``). Settling decides each as that folder's
next run would have:

- files recorded: the run had begun to put them in place, so they may have been seen — the
  document is issued (``--copy-elsewhere`` draws its files in another folder);
- no file recorded: nothing of it was ever published — it is withdrawn, its number given back
  when it is the month's last (else it stays unused);
- the same for a cancellation: issued when its files were recorded, else withdrawn (the
  invoice stays in force: void it again).

Safe while the stopped run is in fact alive (a laptop asleep): before it puts a file in place,
a run checks in the register that its documents are still its own (``Publisher._still_ours``)
and stops if they were settled meanwhile.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..engine.dates import Month
from .publishing import CANCELLATION_ROLE
from .register import Register, RegisterError

ACTIONS_JA = {
    "issued": "発行済みにしました (ファイルを置き始めていた書類です: お客様に届いたかもしれません)",
    "withdrawn": "取り下げました (ファイルを置く前でした: どこにも出ていません)",
    "cancelled": "取消済みにしました (取消の書類を置き始めていました)",
    "cancellation_withdrawn": "の取消を取り下げました (取消の書類を置く前でした: 請求書は効力"
                              "のあるままです。取り消すなら、もう一度 register void を実行"
                              "してください)",
}


@dataclass(frozen=True)
class Settled:
    number: str
    action: str  # a key of ACTIONS_JA
    stopped_in: str  # host:path of the folder whose run stopped ("" when not known)
    number_given_back: bool = False  # withdrawn, and the month's next number again

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def message(self) -> str:
        where = f" (止まっていたフォルダ: {self.stopped_in})" if self.stopped_in else ""
        given_back = ("。この番号は次の請求書に使われます" if self.number_given_back
                      else "。この番号は欠番になります" if self.action == "withdrawn" else "")
        particle = "" if self.action == "cancellation_withdrawn" else "を"
        return f"{self.number} {particle}{ACTIONS_JA[self.action]}{given_back}{where}"


def settle_stopped(number: str, register: Register) -> Settled:
    """Settle ``number``'s pending document or pending cancellation (see the module)."""
    missing = RegisterError(f"請求番号 {number!r} は台帳 {register.display} にありません "
                            "(取り下げ済みか、番号の打ち間違いです)")
    with register.transaction() as ledger:
        doc = ledger.document(number)
        if doc is None:  # never handed out, or withdrawn (by a settle, or the folder's run)
            raise missing
        month = Month.parse(doc.month)
        ledger.lock_month(month)  # runs on the month wait; what they recorded is settled
        doc = ledger.document(number)
        if doc is None:  # withdrawn by its run while this one waited for the month
            raise missing
        folders = ledger.folders()
        cancelling = doc.cancellation
        if doc.state == "pending":
            stopped_in = folders.get(doc.folder_id, "")
            if any(not role.startswith(CANCELLATION_ROLE) for role in doc.files):
                ledger.mark_issued([number])
                return Settled(number, "issued", stopped_in)
            (seq,) = ledger.withdraw(month, [number], doc.folder_id)
            return Settled(number, "withdrawn", stopped_in,
                           number_given_back=ledger.lock_month(month) < seq)
        if cancelling is not None and cancelling.state == "pending":
            stopped_in = folders.get(cancelling.folder_id, "")
            if any(role.startswith(CANCELLATION_ROLE) for role in doc.files):
                ledger.mark_cancelled(number)
                return Settled(number, "cancelled", stopped_in)
            ledger.uncancel(number, cancelling.folder_id)
            return Settled(number, "cancellation_withdrawn", stopped_in)
        raise RegisterError(f"{number} は発行処理中でも取消処理中でもありません (片付けるものは"
                            "ありません)")
