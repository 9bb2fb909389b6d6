"""Service-provider options of the reference PF (mirrors conformance/profiles/reference.toml
``[pics]``): each field says what the PF claims, the code does exactly that."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.protocol.sip.cpm import CPM_CLIENT_RELEASE, CPM_SERVER_RELEASE, ICSI_SESSION

#: Server / User-Agent of the PF (CPM Appendix D, PROTOCOL_NOTES "CPM SIP details")
PF_PRODUCT = f"{CPM_SERVER_RELEASE} cpm-reference/1"


@dataclass(frozen=True, slots=True)
class PfPolicy:
    """What the reference PF does where the seeds leave a choice (PICS ``pf.*``)."""

    #: pf.media_path: B2BUA in the media path (8.2.1 step 4), else a proxy (step 5)
    media_path: bool = True
    #: pf.requires_ua_version: the release token a client's User-Agent must carry
    #: (8.2.1 step 2); None: no check
    required_ua_release: str | None = CPM_CLIENT_RELEASE
    #: pf.allows_anonymity (8.2.1 step 3)
    allows_anonymity: bool = False
    #: originators that are not allowed to send requests (8.2.1 step 1)
    unauthorised_users: tuple[str, ...] = ("sip:mallory@reference.test",)
    #: pf.rejects_unexpected_service: the MAY of 8.2.1 step 4.a.iii
    rejects_unexpected_service: bool = True
    #: pf.pps_other_policy: "accept-contact" (4.c.iv.1) or "configuration" (4.c.iv.2)
    pps_other_policy: str = "accept-contact"
    #: the P-Asserted-Service of 4.c.iv.2 (PIXIT)
    configured_service: str = ICSI_SESSION
    #: delta-seconds of the Session-Expires the PF sends (8.2.1 step 4.l: at most 1800)
    session_expires: int = 1800
    #: Server header of the PF's responses (200 OK step 3)
    server: str = PF_PRODUCT
    #: User-Agent header of the PF's requests (step 4.g)
    user_agent: str = PF_PRODUCT
    #: pf.direct_delivery_all_clients (200 OK step 10)
    direct_delivery_all_clients: bool = True
    # -- the later sections (8.3.x, 8.6, seeds 000/001) ---------------------------------
    blacklist: bool = True
    do_not_disturb: bool = True
    sdp_policy: bool = True
    deferred_delivery: bool = True
    gruu: bool = False
    single_client_policy: bool = True
    #: pf.client_subscribe_mode: "b2bua" or "proxy"
    client_subscribe_mode: str = "b2bua"
    parallel_client_subscriptions: bool = True
    local_notify_without_cf: bool = True
    #: pf.deferred_first_notify: the first NOTIFY of a client's subscription during a
    #: deferred delivery lists only that client ("only-b", B.2.3.5.X step 4) or the
    #: locally stored Participant Information ("stored", 8.2.3's local NOTIFY)
    deferred_first_notify: str = "only-b"
    #: pf.rejoin_notify_order: client B back in the active session, the NOTIFY of its
    #: subscription before the buffered messages ("notify-first", B.2.3.x.y) or after
    #: them ("delivery-first", B.2.3.x.y+1)
    rejoin_notify_order: str = "delivery-first"
    conference_info_via_msrp: bool = False
    admin_trigger: bool = True
    message_store: bool = True
    #: the MAY of 5.2.3.5 / B.2.3.5.X step 5: stored messages list their actual recipients
    cpim_to_actual_recipients: bool = True
    recording: bool = False
    unsubscribe_after_rejoin: bool = True
    #: pf.retry_rejected_media: the MAY of 8.2.1 200 OK step 1 (a new session to the ISF
    #: for the Media Streams it rejected)
    retry_rejected_media: bool = True

    def __post_init__(self) -> None:
        if self.pps_other_policy not in ("accept-contact", "configuration"):
            raise ValueError(f"pps_other_policy {self.pps_other_policy!r}")
        if self.client_subscribe_mode not in ("b2bua", "proxy"):
            raise ValueError(f"client_subscribe_mode {self.client_subscribe_mode!r}")
        if self.deferred_first_notify not in ("only-b", "stored"):
            raise ValueError(f"deferred_first_notify {self.deferred_first_notify!r}")
        if self.rejoin_notify_order not in ("notify-first", "delivery-first"):
            raise ValueError(f"rejoin_notify_order {self.rejoin_notify_order!r}")
        if self.session_expires < 90:
            raise ValueError("session_expires below the RFC 4028 minimum of 90")


__all__ = ["PF_PRODUCT", "PfPolicy"]
