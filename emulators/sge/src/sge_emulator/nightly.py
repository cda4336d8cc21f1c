"""One emulated night: publish yesterday's flux files for the subscribed points.

Why a hook and not the wall clock: tests and the demo need nights on demand
(``advance_night``), and the files for day D are published in the night of
D+1, as Enedis does (R50/R151 around 03:00 Paris).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

from sge_emulator import flux
from sge_emulator.catalogue import Point
from sge_emulator.crypto import parse_keys
from sge_emulator.flux import Context, Encryption
from sge_emulator.state import EmulatorState

logger = logging.getLogger("sge_emulator.nightly")


def encryption(state: EmulatorState) -> Encryption:
    """The current key (version ``state.key_version``) and the configured cipher."""
    settings = state.settings
    keys = parse_keys(settings.keys)
    key = keys.get(state.key_version) or keys[min(keys)]
    return Encryption(
        cipher=settings.cipher,
        key=key.key,
        version=key.version,
        iv=bytes.fromhex(settings.aes128_iv) if settings.cipher == "aes128" else None,
    )


def rotate_key(state: EmulatorState) -> int:
    """Moves to the next configured key version (cycling) and returns it."""
    versions = sorted(parse_keys(state.settings.keys))
    position = (
        versions.index(state.key_version) if state.key_version in versions else -1
    )
    state.key_version = versions[(position + 1) % len(versions)]
    logger.info("flux key rotated to version %d", state.key_version)
    return state.key_version


def publish_day(state: EmulatorState, drop: Path, day: date) -> list[Path]:
    """The files of ``day`` for every active recurrent subscription (and due orders)."""
    drop.mkdir(parents=True, exist_ok=True)
    enc = encryption(state)
    ctx = Context(state.settings.receiver_code, state.settings.contract_id, state.now())
    r50: list[tuple[Point, str]] = []
    r151: list[tuple[Point, str]] = []
    r171: list[Point] = []
    r4q: list[tuple[Point, str]] = []
    seen: set[tuple[str, str]] = set()
    for sub in sorted(
        state.subscriptions.values(), key=lambda s: (s.prm, s.service_id)
    ):
        if not (sub.recurrent and sub.active_on(day)):
            continue
        point = state.catalogue.get(sub.prm)
        if point is None:
            continue
        flux_code = (
            ("R50" if point.c5 else "R4Q")
            if sub.kind == "CDC"
            else ("R151" if point.c5 else "R171")
        )
        if (flux_code, sub.prm) in seen:
            continue
        seen.add((flux_code, sub.prm))
        if flux_code == "R171":
            r171.append(point)
        else:
            {"R50": r50, "R151": r151, "R4Q": r4q}[flux_code].append(
                (point, sub.affaire_id)
            )
    written: list[Path] = []
    if r50:
        name = flux.r50_name(ctx)
        written.append(
            flux.write_flux(
                drop / name,
                [(name[:-4] + ".xml", flux.r50_chunks(r50, [day], ctx))],
                enc,
            )
        )
    if r151:
        name = flux.r151_name(ctx)
        written.append(
            flux.write_flux(
                drop / name,
                [(name[:-4] + ".xml", flux.r151_chunks(r151, [day], ctx))],
                enc,
            )
        )
    if r171:
        name = flux.r171_name(ctx)
        written.append(
            flux.write_flux(
                drop / name,
                [(name[:-4] + ".xml", flux.r171_chunks(r171, [day], ctx))],
                enc,
            )
        )
    if r4q:
        name = flux.r4q_name(ctx, day)
        members = [
            (
                f"ENEDIS_R4Q_CDC_{point.prm}_{day:%Y%m%d}.xml",
                flux.r4q_chunks(point, day, ctx, affaire),
            )
            for point, affaire in r4q
        ]
        written.append(flux.write_flux(drop / name, members, enc))
    written += deliver_orders(state, drop, enc, ctx)
    logger.info(
        "night of %s: %d file(s), key version %d", day, len(written), enc.version
    )
    return written


def deliver_orders(
    state: EmulatorState, drop: Path, enc: Encryption, ctx: Context
) -> list[Path]:
    """Asynchronous orders placed before this night become files now."""
    written = []
    m023 = drop / flux.M023_DIR
    for order in state.orders.values():
        if order.delivered:
            continue
        points = [
            p for p in (state.catalogue.get(prm) for prm in order.prms) if p is not None
        ]
        if order.service == "MFI":
            if order.start is None or order.end is None:
                continue
            code, kind = {
                "COURBES": ("R63", "CdC"),
                "INDEX": ("R64", "INDEX"),
                "ENERGIE": ("R65", "CdC"),
                "PMAX": ("R66", "CdC"),
            }[order.type_code or "COURBES"]
            document = (
                flux.r64_document(order.affaire_id, points, order.start, order.end)
                if code == "R64"
                else flux.r63_document(
                    order.affaire_id, points, order.start, order.end, code
                )
            )
            member = f"{code}_{order.affaire_id}.{'JSON' if code == 'R64' else 'json'}"
            m023.mkdir(parents=True, exist_ok=True)
            name = flux.m023_name(code, kind, order.affaire_id, ctx)
            written.append(flux.write_flux(m023 / name, [(member, [document])], enc))
        elif order.service == "MFA":
            if order.start is None or order.end is None:
                continue
            document = flux.r63_document(
                order.affaire_id, points, order.start, order.end, "R65"
            )
            m023.mkdir(parents=True, exist_ok=True)
            name = flux.m023_name("R67", "CdC", order.affaire_id, ctx)
            written.append(
                flux.write_flux(
                    m023 / name, [(f"R67_{order.affaire_id}.json", [document])], enc
                )
            )
        elif order.service == "ITC":
            # C68: a primary ZIP of secondary ZIPs, each holding exactly one JSON.
            m023.mkdir(parents=True, exist_ok=True)
            name = flux.m023_name("C68", "ITC", order.affaire_id, ctx)
            members = []
            for index in range(0, len(points), 1000):
                chunk = points[index : index + 1000]
                number = index // 1000 + 1
                inner = flux.nested_zip(
                    [
                        (
                            f"C68_{order.affaire_id}_{number:05d}.json",
                            flux.c68_documents(chunk),
                        )
                    ]
                )
                members.append(
                    (
                        f"ENEDIS_C68_P_ITC_{order.affaire_id}_{index // 1000 + 1:05d}.zip",
                        [inner],
                    )
                )
            written.append(flux.write_flux(m023 / name, members, enc))
        elif order.service == "HDM" and points:
            if order.start is None or order.end is None:
                continue
            hdm = drop / flux.HDM_DIR
            hdm.mkdir(parents=True, exist_ok=True)
            path = hdm / f"Enedis_SGE_HDM_{order.affaire_id}.csv"
            path.write_bytes(
                flux.hdm_csv(
                    points[0].prm,
                    order.type_code or "CDC",
                    points[0],
                    order.start,
                    order.end,
                )
            )
            written.append(path)
        order.delivered = True
    return written


def advance(state: EmulatorState, drop: Path, nights: int = 1) -> list[Path]:
    """Moves the emulated date on by ``nights``, publishing each night's files."""
    written: list[Path] = []
    for _ in range(nights):
        yesterday = state.today
        state.today = state.today + timedelta(days=1)
        state.nights += 1
        every = state.settings.rotate_every_days
        if every > 0 and state.nights % every == 0:
            rotate_key(state)
        written += publish_day(state, drop, yesterday)
    return written
