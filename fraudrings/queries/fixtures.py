"""A small hand-made portfolio with one planted example of every typology and every kind of
legitimate sharing: the seeded graph that the heuristics' tests, the parity test and the docs run
on. Deterministic (no randomness at all), about 330 applications, loads in a second on either
store.

Planted (``Fixture.rings``)::

    farm       device farm: 6 identities on 2 devices within two hours, one IP, a mule account
    agent      colluding sales agent AG9 at merchant M1: 8 fakes in three weeks sharing two
               phones and the agent's own device, naming the agent's phone as reference; bad
    synthetic  recycled identities: one phone, one flat, one account, one e-mail across four
               identities in a week, and one identity reused with other details two days apart
    clique     five applicants naming each other as emergency contacts, reciprocally
    bustout    four identities that borrowed once long ago wake up within a day onto one
               account and (three of them) one flat
    burst      a rush of twelve applications in two days at merchant M2

Legitimate sharing (``Fixture.decoys``), which no heuristic may flag::

    shop_tablet    merchant M1's tablet and shop IP on 61 sales over ten months (and M2's on 30)
    call_centre    a workstation and the centre's IP on 45 cash loans
    carrier_ip     one mobile-carrier NAT address on 90 online applications
    family         three relatives at one address, months apart: home laptop, joint account,
                   naming each other as contacts in a cycle
    couple         two spouses at one address in one week: one laptop, a joint account, naming
                   each other
    repeat         two repeat customers coming back every three months, via the carrier IP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

#: 2025-01-01T00:00:00Z: day 0 of the fixture.
T0 = 1_735_689_600
DAY = 86_400

#: Which planted rings each heuristic must find (and nothing outside the rings).
EXPECT: dict[str, tuple[str, ...]] = {
    "shared_device": ("farm", "agent"),
    "shared_phone": ("agent", "synthetic"),
    "shared_bank_account": ("farm", "synthetic", "bustout"),
    "shared_address": ("synthetic", "bustout"),
    "shared_contact": ("agent",),
    "contact_cycle": ("clique",),
    "applicant_hopping": ("synthetic",),
    "velocity_merchant_agent": ("burst",),
    "velocity_identifier": ("farm", "bustout"),
    "agent_collusion": ("agent",),
    "agent_bad_outcomes": ("agent",),
    "sleeper_bustout": ("bustout",),
    "identity_inconsistency": ("farm", "synthetic"),
}

#: Keys of the hub identifiers behind the decoys: no heuristic may return a row with these.
HUB_KEYS = ("Device:tab-m1", "Ip:ip-m1", "Device:tab-m2", "Ip:ip-m2", "Device:ws-1",
            "Ip:ip-cc", "Ip:10.0.0.1")


@dataclass
class Fixture:
    applications: pd.DataFrame  # the input contract, ready for ``validate``
    rings: dict[str, list[str]] = field(default_factory=dict)  # ring -> application ids
    decoys: dict[str, list[str]] = field(default_factory=dict)  # decoy -> application ids

    @property
    def ring_members(self) -> set[str]:
        return {a for members in self.rings.values() for a in members}

    @property
    def decoy_members(self) -> set[str]:
        return {a for members in self.decoys.values() for a in members}


class _Book:
    """Applications with fresh identifiers unless told otherwise."""

    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []
        self.counters: dict[str, int] = {}

    def fresh(self, kind: str) -> str:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        n = self.counters[kind]
        if kind == "phone":
            return f"9{n:09d}"  # a national mobile number: normalised to +79...
        if kind == "ip":
            return f"172.16.{n // 250}.{n % 250 + 1}"
        return f"{kind}-{n:04d}"

    def person(self) -> dict[str, str]:
        """A person's own identifiers, kept across their applications."""
        return {"applicant_id": self.fresh("P"), "phone": self.fresh("phone"),
                "email": f"{self.fresh('mail')}@example.ru", "address": self.fresh("addr"),
                "bank_account": self.fresh("acct")}

    def add(self, day: float, who: dict[str, str] | None = None, **fields: str) -> str:
        app_id = f"A{len(self.rows) + 1:04d}"
        row = {"application_id": app_id,
               "applied_at": pd.Timestamp(T0 + round(day * DAY), unit="s").isoformat(),
               "device_id": self.fresh("dev"), "ip": self.fresh("ip"), "product": "online",
               "amount": "20000", "term_months": "12", "is_fraud": "", "fpd": "",
               "merchant_id": "", "agent_id": "", "contact_phones": ""}
        row.update(who or self.person())
        row.update(fields)
        self.rows.append(row)
        return app_id


def build_fixture() -> Fixture:
    """The seeded portfolio; the same every call."""
    book = _Book()
    fx = Fixture(applications=pd.DataFrame())
    decoys = fx.decoys
    rings = fx.rings

    # -- legitimate sharing ------------------------------------------------------------------
    # Merchant M1: agents AG1-AG3 sell on the shop tablet all year; AG9 also sells honestly.
    decoys["shop_tablet"] = []
    for k in range(53):
        agent = ("AG1", "AG2", "AG3", "AG9")[k % 4] if k < 32 else ("AG1", "AG2", "AG3")[k % 3]
        decoys["shop_tablet"].append(book.add(
            3 + k * 5.6, device_id="tab-m1", ip="ip-m1", merchant_id="M1", agent_id=agent,
            product="pos", fpd="1" if k in (6, 22, 40) else "0", is_fraud="0"))
    # Merchant M2: a quiet shop, one sale every ten days on its own tablet (none in the week
    # around the rush planted below, so the rush's windows hold only the rush).
    for k in range(31):
        if k in (14, 15):
            continue
        decoys["shop_tablet"].append(book.add(
            5 + k * 10, device_id="tab-m2", ip="ip-m2", merchant_id="M2",
            agent_id=("AG5", "AG6")[k % 2], product="pos", fpd="0", is_fraud="0"))
    # A call centre: one workstation keys cash loans for callers all year.
    decoys["call_centre"] = [book.add(2 + k * 6.5, device_id="ws-1", ip="ip-cc", product="cash")
                             for k in range(45)]
    # Online applicants behind one carrier NAT address.
    decoys["carrier_ip"] = [book.add(1 + k * 3.3, ip="10.0.0.1") for k in range(90)]

    # A family at one address, months apart: home laptop, joint account, contacts in a cycle.
    fa, fb, fc = book.person(), book.person(), book.person()
    fb["address"] = fc["address"] = fa["address"]
    fb["bank_account"] = fa["bank_account"]
    decoys["family"] = [
        book.add(30, fa, device_id="laptop-fam", contact_phones=fb["phone"]),
        book.add(150, fb, device_id="laptop-fam", contact_phones=fc["phone"]),
        book.add(270, fc, contact_phones=fa["phone"]),
    ]
    # A couple at one address in one week: one laptop, a joint account, naming each other.
    ca, cb = book.person(), book.person()
    cb["address"] = ca["address"]
    cb["bank_account"] = ca["bank_account"]
    decoys["couple"] = [
        book.add(180, ca, device_id="laptop-cpl", contact_phones=cb["phone"]),
        book.add(184, cb, device_id="laptop-cpl", contact_phones=ca["phone"]),
    ]
    # Two repeat customers, back every three months, sometimes through the carrier NAT.
    r1, r2 = book.person(), book.person()
    decoys["repeat"] = [
        book.add(15, r1, device_id="phone-r1a"),
        book.add(105, r1, device_id="phone-r1a", ip="10.0.0.1"),
        book.add(195, r1, device_id="phone-r1b", ip="10.0.0.1"),
        book.add(285, r1, device_id="phone-r1b"),
        book.add(20, r2, device_id="phone-r2"),
        book.add(107, r2, device_id="phone-r2", ip="10.0.0.1"),
        book.add(290, r2, device_id="phone-r2", ip="10.0.0.1"),
    ]

    # -- planted rings -----------------------------------------------------------------------
    # Device farm: six identities on two handsets within two hours, one IP, a mule account.
    rings["farm"] = [
        book.add(40 + k / 72, device_id=("farm-dev-1", "farm-dev-2")[k // 3], ip="10.9.9.9",
                 **({"bank_account": "mule-farm"} if k < 4 else {}))
        for k in range(6)
    ]

    # Colluding agent AG9 at M1: fakes over three weeks on the agent's own device, two phones,
    # the agent's phone as reference; they go bad.
    agent_phone = book.fresh("phone")
    rings["agent"] = []
    for k in range(8):
        fake = book.person()
        fake["phone"] = ("9555000001", "9555000002")[k // 4]
        rings["agent"].append(book.add(
            60 + k * 2.6, fake, device_id="dev-ag9" if k % 2 == 0 else book.fresh("dev"),
            merchant_id="M1", agent_id="AG9", product="pos",
            contact_phones=agent_phone if k in (0, 1, 2, 4, 6) else "",
            fpd="1" if k != 3 else "0", is_fraud="1" if k in (1, 5) else "0"))

    # Synthetic identities: one phone, flat, account and e-mail recycled across identities.
    s1, s2, s3, s4 = book.person(), book.person(), book.person(), book.person()
    s2["address"] = s3["address"] = s1["address"]
    s2["phone"] = s3["phone"] = s4["phone"] = "9666000001"
    s2["bank_account"] = s3["bank_account"] = s4["bank_account"] = "acct-synth"
    s4["email"] = s2["email"]
    s1_again = book.person()  # the same identity, reused two days later with other details
    s1_again["applicant_id"] = s1["applicant_id"]
    rings["synthetic"] = [book.add(120, s1), book.add(122, s1_again), book.add(123, s2),
                          book.add(125, s3), book.add(128, s4)]

    # Emergency-contact clique: each names the next and the previous member's phone.
    members = [book.person() for _ in range(5)]
    rings["clique"] = [
        book.add(200 + k, who, contact_phones=";".join(
            (members[(k + 1) % 5]["phone"], members[(k - 1) % 5]["phone"])))
        for k, who in enumerate(members)
    ]

    # Bust-out: four identities borrow once early, then all within a day onto one account.
    sleepers = [book.person() for _ in range(4)]
    rings["bustout"] = [book.add(10 + 15 * k, who, fpd="0", is_fraud="0")
                        for k, who in enumerate(sleepers)]
    for k, who in enumerate(sleepers):
        woke = dict(who, bank_account="acct-bust",
                    address="addr-bust" if k < 3 else book.fresh("addr"))
        rings["bustout"].append(book.add(250.1 + 0.2 * k, woke))

    # A rush at merchant M2: twelve sales in two days by one agent.
    rings["burst"] = [book.add(150 + k / 6, merchant_id="M2", agent_id="AG7", product="pos")
                      for k in range(12)]

    fx.applications = pd.DataFrame(book.rows)
    return fx



def build_hub_fixture(n: int = 1500) -> Fixture:
    """``n`` applications of distinct applicants crammed onto the same identifiers within one
    day: one device, IP, phone, contact phone, e-mail, address, bank account, merchant and
    agent. Every identifier is a hub far past every heuristic's cut-off, so a hub-safe
    heuristic returns nothing keyed by them (and never pairs their applications)."""
    book = _Book()
    shared = {"device_id": "hub-dev", "ip": "hub-ip", "phone": "9000000000",
              "contact_phones": "9000000001", "email": "hub@example.ru", "address": "hub-addr",
              "bank_account": "hub-acct", "merchant_id": "HUB-M", "agent_id": "HUB-AG",
              "product": "pos"}
    fx = Fixture(applications=pd.DataFrame())
    fx.decoys["hub"] = [book.add(100 + k / n, {"applicant_id": f"P-hub-{k:05d}"}, **shared)
                        for k in range(n)]
    # the contact phone is also somebody's own, so contact links through it exist
    fx.decoys["hub"].append(book.add(100.5, {"applicant_id": "P-hub-owner"},
                                     phone="9000000001", address="hub-owner-addr"))
    fx.applications = pd.DataFrame(book.rows)
    return fx
