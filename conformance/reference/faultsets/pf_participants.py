"""Faults of the PF's participant information and Group State Objects (seed 003 8.2.3,
seed 000 5.2.3.5, 8.2.1 200 OK step 9): one per testable item."""

from __future__ import annotations

from conformance.reference.faultsets import Fault


def _f(name: str, ids: tuple[str, ...], description: str) -> Fault:
    return Fault(name, "pf", ids, description)


FAULTS: tuple[Fault, ...] = (
    _f("pf.no-subscribe-to-focus", ("PF-8.2.1-200OK-9", "PF-8.2.3-SUB-1"),
       "After the 200 OK of a group session the PF never subscribes to the focus."),
    _f("pf.subscribe-ruri-not-focus", ("PF-8.2.3-SUB-2",),
       "The PF's SUBSCRIBE targets the conference factory, not the group session identity."),
    _f("pf.subscribe-no-accept-contact", ("PF-8.2.3-SUB-3",),
       "The PF's SUBSCRIBE has no Accept-Contact with the cpm.session ICSI."),
    _f("pf.subscribe-no-asserted-service", ("PF-8.2.3-SUB-4",),
       "The PF's SUBSCRIBE has no P-Asserted-Service cpm.session.group."),
    _f("pf.subscribe-contact-no-icsi", ("PF-8.2.3-SUB-5",),
       "The PF's SUBSCRIBE Contact lacks the +g.3gpp.icsi-ref feature tag."),
    _f("pf.subscribe-from-not-deferred-uri", ("PF-8.2.3-SUB-6",),
       "The PF's SUBSCRIBE From is the served user, not the PF's own URI."),
    _f("pf.subscribe-pai-not-user", ("PF-8.2.3-SUB-7",),
       "The PF's SUBSCRIBE has no P-Asserted-Identity of the served user."),
    _f("pf.subscribe-no-user-agent", ("PF-8.2.3-SUB-8",),
       "The PF's SUBSCRIBE carries no User-Agent with the CPM release."),
    _f("pf.notify-not-accepted", ("PF-8.2.3-RCV-1",),
       "The PF answers the CF's NOTIFY with 489."),
    _f("pf.notify-not-forwarded", ("PF-8.2.3-RCV-5", "PF-8.2.3-CLSUB-B2BUA"),
       "The CF's NOTIFYs are not forwarded to the subscribed clients of the user."),
    _f("pf.two-subscriptions-for-one-user", ("PF-8.2.3-CLSUB-PARALLEL",),
       "Each client SUBSCRIBE of the same user opens another subscription at the CF."),
    _f("pf.notify-partial-replaces", ("PF-8.2.3-RCV-3-coherent", "PF-8.2.3-RCV-6"),
       "A partial notification replaces the state instead of being merged into it."),
    _f("pf.gso-not-stored-on-noresource",
       ("PF-8.2.3-RCV-3", "PF-8.2.3-RCV-3-new", "PF-5.2.3.5-GSO-STORE"),
       "No Group State Object is stored when the CF ends the subscription (noresource)."),
    _f("pf.gso-stored-without-preference", ("PF-8.2.3-RCV-3",),
       "A Group State Object is stored although neither allow-store nor "
       "allow-offline-storage is true."),
    _f("pf.gso-no-lastfocussessionid", ("PF-8.2.3-RCV-3.a",),
       "The Group State Object has no lastfocussessionid."),
    _f("pf.gso-no-group-type", ("PF-8.2.3-RCV-3.c",),
       "The Group State Object has no group-type."),
    _f("pf.gso-departed-user-kept", ("PF-8.2.3-RCV-3.d",),
       "Users disconnected with method departed or failed stay in the Group State Object."),
    _f("pf.gso-no-participant-name", ("PF-8.2.3-RCV-3.d.ii",),
       "The participants of the Group State Object carry no name."),
    _f("pf.gso-no-yourown", ("PF-8.2.3-RCV-3.d.iii",),
       "The participants of the Group State Object carry no yourown."),
    _f("pf.gso-no-participant-role", ("PF-8.2.3-RCV-3.d.iv",),
       "The participants of the Group State Object carry no role."),
    _f("pf.gso-no-subject", ("PF-8.2.3-RCV-3.e", "PF-8.2.3-RCV-3.e.i", "PF-8.2.3-RCV-3.e.ii"),
       "The Group State Object has no subject."),
    _f("pf.gso-no-subject-timestamp", ("PF-8.2.3-RCV-3.e.iii",),
       "The subject of the Group State Object has no timestamp."),
    _f("pf.gso-no-icon", ("PF-8.2.3-RCV-3.f", "PF-8.2.3-RCV-3.f.i", "PF-8.2.3-RCV-3.f.iii"),
       "The Group State Object has no icon."),
    _f("pf.gso-empty-icon-source-kept", ("PF-8.2.3-RCV-3.f.i-empty",),
       "An empty icon source is written into the Group State Object."),
    _f("pf.gso-no-icon-participant", ("PF-8.2.3-RCV-3.f.ii",),
       "The icon of the Group State Object has no participant."),
    _f("pf.gso-timestamp-not-current", ("PF-8.2.3-RCV-3.b",),
       "The Group State Object's timestamp is an hour old, not the current time."),
    _f("pf.gso-no-comm-addr", ("PF-8.2.3-RCV-3.d.i",),
       "The participants of the Group State Object carry no comm-addr."),
    _f("pf.no-local-notify", ("PF-8.2.3-CLSUB-LOCAL",),
       "Without a session at the CF the PF subscribes to the CF again instead of "
       "answering the client from the kept Participant Information."),
    _f("pf.client-subscribe-ruri-kept", ("PF-8.2.3-CLSUB-RURI",),
       "The SUBSCRIBE the PF sends to the CF for a client keeps the client's Request-URI "
       "(the PF's Contact) instead of the group session identity."),
    _f("pf.gso-no-max-user-count", ("PF-8.2.3-RCV-3.g",),
       "The Group State Object has no max-user-count."),
    _f("pf.gso-no-policy", ("PF-8.2.3-RCV-3.h",),
       "The Group State Object has no policy (keywords)."),
)
