"""Faults of the reference PF that break Conversation Function TS section 8.2.3 (seed 003).

The first requirement id of each fault is in that section; some faults also break
requirements of 5.2.3.5."""

from __future__ import annotations

from conformance.reference.faultsets import CONFINFO_VIA_MSRP, FORWARD_MODE, Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "pf.confinfo-notify-not-sent-over-msrp",
        "pf",
        ("PF-8.2.3-RCV-4",),
        "RCV step 4: the body of the CF's NOTIFY is not sent to the client over MSRP.",
        pics=CONFINFO_VIA_MSRP,
    ),
    Fault(
        "pf.forward-not-forwarded",
        "pf",
        ("PF-8.2.3-CLSUB-FORWARD", "PF-5.2.3.5-FWD-SUB"),
        "A PF claiming forward mode serves the client's SUBSCRIBE as a B2BUA from its own "
        "subscription: the client's SUBSCRIBE never reaches the CF.",
        pics=FORWARD_MODE,
    ),
    Fault(
        "pf.forward-own-subscription-kept",
        "pf",
        ("PF-8.2.3-CLSUB-FORWARD-TERMINATE",),
        "The PF forwards the client's SUBSCRIBE but keeps the subscription it initiated itself "
        "(no SUBSCRIBE with Expires: 0 in its own dialog).",
        pics=FORWARD_MODE,
    ),
    Fault(
        "pf.no-unsubscribe-on-leave",
        "pf",
        ("PF-8.2.3-TERM",),
        "When the user leaves the group session the PF keeps its subscription to the focus (no "
        "SUBSCRIBE with Expires: 0).",
    ),
    Fault(
        "pf.subscribe-never-refreshed",
        "pf",
        ("PF-8.2.3-RESP",),
        "The PF ignores the Expires of the 200 to its SUBSCRIBE and never refreshes.",
    ),
    Fault(
        "pf.subscribe-retried-after-error",
        "pf",
        ("PF-8.2.3-RESP",),
        "After an error response to its SUBSCRIBE the PF subscribes again at once.",
    ),
    Fault(
        "pf.subscribe-ruri-not-focus",
        "pf",
        ("PF-8.2.3-SUB-2",),
        "The PF's SUBSCRIBE targets the conference factory, not the group session identity.",
    ),
    Fault(
        "pf.subscribe-no-accept-contact",
        "pf",
        ("PF-8.2.3-SUB-3",),
        "The PF's SUBSCRIBE has no Accept-Contact with the cpm.session ICSI.",
    ),
    Fault(
        "pf.subscribe-no-asserted-service",
        "pf",
        ("PF-8.2.3-SUB-4",),
        "The PF's SUBSCRIBE has no P-Asserted-Service cpm.session.group.",
    ),
    Fault(
        "pf.subscribe-contact-no-icsi",
        "pf",
        ("PF-8.2.3-SUB-5",),
        "The PF's SUBSCRIBE Contact lacks the +g.3gpp.icsi-ref feature tag.",
    ),
    Fault(
        "pf.subscribe-from-not-deferred-uri",
        "pf",
        ("PF-8.2.3-SUB-6",),
        "The PF's SUBSCRIBE From is the served user, not the PF's own URI.",
    ),
    Fault(
        "pf.subscribe-pai-not-user",
        "pf",
        ("PF-8.2.3-SUB-7",),
        "The PF's SUBSCRIBE has no P-Asserted-Identity of the served user.",
    ),
    Fault(
        "pf.subscribe-no-user-agent",
        "pf",
        ("PF-8.2.3-SUB-8",),
        "The PF's SUBSCRIBE carries no User-Agent with the CPM release.",
    ),
    Fault(
        "pf.subscribe-not-through-core",
        "pf",
        ("PF-8.2.3-SUB-9",),
        "The PF sends its SUBSCRIBE straight to the address its focus URI names, not to its "
        "outbound proxy (the SIP/IP core).",
    ),
    Fault(
        "pf.deferred-first-notify-not-stored",
        "pf",
        ("PF-8.2.3-CLSUB-LOCAL-NOTIFY-DD",),
        "A PF claiming the stored side of the first NOTIFY during a deferred delivery lists "
        "only client B in it, not the locally stored Participant Information.",
        pics=(("pf.deferred_first_notify", "stored"),),
    ),
    Fault(
        "pf.notify-not-accepted",
        "pf",
        ("PF-8.2.3-RCV-1",),
        "The PF answers the CF's NOTIFY with 489.",
    ),
    Fault(
        "pf.notify-not-forwarded",
        "pf",
        ("PF-8.2.3-RCV-5", "PF-8.2.3-CLSUB-B2BUA"),
        "The CF's NOTIFYs are not forwarded to the subscribed clients of the user.",
    ),
    Fault(
        "pf.two-subscriptions-for-one-user",
        "pf",
        ("PF-8.2.3-CLSUB-PARALLEL",),
        "Each client SUBSCRIBE of the same user opens another subscription at the CF.",
    ),
    Fault(
        "pf.notify-partial-replaces",
        "pf",
        ("PF-8.2.3-RCV-3-coherent", "PF-8.2.3-RCV-6"),
        "A partial notification replaces the state instead of being merged into it.",
    ),
    Fault(
        "pf.gso-not-stored-on-noresource",
        "pf",
        ("PF-8.2.3-RCV-3", "PF-8.2.3-RCV-3-new", "PF-5.2.3.5-GSO-STORE"),
        "No Group State Object is stored when the CF ends the subscription (noresource).",
    ),
    Fault(
        "pf.gso-stored-without-preference",
        "pf",
        ("PF-8.2.3-RCV-3",),
        "A Group State Object is stored although neither allow-store nor allow-offline-storage is "
        "true.",
    ),
    Fault(
        "pf.gso-no-lastfocussessionid",
        "pf",
        ("PF-8.2.3-RCV-3.a",),
        "The Group State Object has no lastfocussessionid.",
    ),
    Fault(
        "pf.gso-no-group-type",
        "pf",
        ("PF-8.2.3-RCV-3.c",),
        "The Group State Object has no group-type.",
    ),
    Fault(
        "pf.gso-departed-user-kept",
        "pf",
        ("PF-8.2.3-RCV-3.d",),
        "Users disconnected with method departed or failed stay in the Group State Object.",
    ),
    Fault(
        "pf.gso-no-participant-name",
        "pf",
        ("PF-8.2.3-RCV-3.d.ii",),
        "The participants of the Group State Object carry no name.",
    ),
    Fault(
        "pf.gso-no-yourown",
        "pf",
        ("PF-8.2.3-RCV-3.d.iii",),
        "The participants of the Group State Object carry no yourown.",
    ),
    Fault(
        "pf.gso-no-participant-role",
        "pf",
        ("PF-8.2.3-RCV-3.d.iv",),
        "The participants of the Group State Object carry no role.",
    ),
    Fault(
        "pf.gso-no-subject",
        "pf",
        ("PF-8.2.3-RCV-3.e", "PF-8.2.3-RCV-3.e.i", "PF-8.2.3-RCV-3.e.ii"),
        "The Group State Object has no subject.",
    ),
    Fault(
        "pf.gso-no-subject-timestamp",
        "pf",
        ("PF-8.2.3-RCV-3.e.iii",),
        "The subject of the Group State Object has no timestamp.",
    ),
    Fault(
        "pf.gso-no-icon",
        "pf",
        ("PF-8.2.3-RCV-3.f", "PF-8.2.3-RCV-3.f.i", "PF-8.2.3-RCV-3.f.iii"),
        "The Group State Object has no icon.",
    ),
    Fault(
        "pf.gso-empty-icon-source-kept",
        "pf",
        ("PF-8.2.3-RCV-3.f.i-empty",),
        "An empty icon source is written into the Group State Object.",
    ),
    Fault(
        "pf.gso-no-icon-participant",
        "pf",
        ("PF-8.2.3-RCV-3.f.ii",),
        "The icon of the Group State Object has no participant.",
    ),
    Fault(
        "pf.gso-timestamp-not-current",
        "pf",
        ("PF-8.2.3-RCV-3.b",),
        "The Group State Object's timestamp is an hour old, not the current time.",
    ),
    Fault(
        "pf.gso-no-comm-addr",
        "pf",
        ("PF-8.2.3-RCV-3.d.i",),
        "The participants of the Group State Object carry no comm-addr.",
    ),
    Fault(
        "pf.no-local-notify",
        "pf",
        ("PF-8.2.3-CLSUB-LOCAL",),
        "Without a session at the CF the PF subscribes to the CF again instead of answering the "
        "client from the kept Participant Information.",
    ),
    Fault(
        "pf.client-subscribe-ruri-kept",
        "pf",
        ("PF-8.2.3-CLSUB-RURI",),
        "The SUBSCRIBE the PF sends to the CF for a client keeps the client's Request-URI (the "
        "PF's Contact) instead of the group session identity.",
    ),
    Fault(
        "pf.gso-no-max-user-count",
        "pf",
        ("PF-8.2.3-RCV-3.g",),
        "The Group State Object has no max-user-count.",
    ),
    Fault(
        "pf.gso-no-policy",
        "pf",
        ("PF-8.2.3-RCV-3.h",),
        "The Group State Object has no policy (keywords).",
    ),
    Fault(
        "pf.subscribe-no-expires",
        "pf",
        ("PF-8.2.3-SUB-1",),
        "The PF's SUBSCRIBE to the focus carries no Expires header field.",
    ),
    Fault(
        "pf.client-subscribe-no-initial-notify",
        "pf",
        ("PF-8.2.3-CLSUB-RECEIVE",),
        "A client's SUBSCRIBE linked to the PF's held subscription gets 200 but no initial NOTIFY.",
    ),
    Fault(
        "pf.local-notify-without-state",
        "pf",
        ("PF-8.2.3-CLSUB-LOCAL-NOTIFY",),
        "The NOTIFY answered locally (no session at the CF) carries no conference state "
        "instead of the kept Participant Information.",
    ),
    Fault(
        "pf.gso-snapshot-keeps-first-state",
        "pf",
        ("PF-8.2.3-RCV-3-new",),
        "Each new Group State Object of a session repeats the state of its first one: the "
        "object with the latest timestamp does not hold the last state.",
    ),
    Fault(
        "pf.forward-notify-not-relayed",
        "pf",
        ("PF-8.2.3-RCV-5",),
        "Forward mode: the CF's NOTIFYs in a forwarded client subscription are answered 200 "
        "but never relayed to the client.",
        pics=FORWARD_MODE,
    ),
    Fault(
        "pf.gso-offline-storage-alone-ignored",
        "pf",
        ("PF-8.2.3-RCV-3",),
        "No Group State Object is stored when <allow-offline-storage> alone is true (only "
        "<allow-store> counts).",
    ),
)

__all__ = ["FAULTS"]
