"""CPM constants used in SIP (OMA CPM 2.0; PROTOCOL_NOTES.md "CPM SIP details")."""

from __future__ import annotations

ICSI_SESSION = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session"
"""1-1 chat, and group chat in Accept-Contact."""
ICSI_SESSION_GROUP = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session.group"
"""Group session (P-Asserted-Service)."""
ICSI_MSG = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.msg"
ICSI_LARGEMSG = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.largemsg"
ICSI_DEFERRED = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.deferred"
ICSI_FILETRANSFER = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.filetransfer"
ICSI_SYSTEMMSG = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.systemmsg"

#: The seeds write the deferred feature tag without the ``urn:urn-7:`` prefix.
DEFERRED_FEATURE_TAG = "3gpp-service.ims.icsi.oma.cpm.deferred"

ALL_ICSIS: tuple[str, ...] = (
    ICSI_SESSION,
    ICSI_SESSION_GROUP,
    ICSI_MSG,
    ICSI_LARGEMSG,
    ICSI_DEFERRED,
    ICSI_FILETRANSFER,
    ICSI_SYSTEMMSG,
)

#: CPM Appendix D release tokens (``User-Agent`` / ``Server``).
CPM_CLIENT_PRODUCT = "CPM-client"
CPM_SERVER_PRODUCT = "CPM-serv"
CPM_VERSION = "OMA2.0"
CPM_CLIENT_RELEASE = f"{CPM_CLIENT_PRODUCT}/{CPM_VERSION}"
CPM_SERVER_RELEASE = f"{CPM_SERVER_PRODUCT}/{CPM_VERSION}"

#: CPM header names, in the casing they are sent with.
CONVERSATION_ID = "Conversation-ID"
CONTRIBUTION_ID = "Contribution-ID"
IN_REPLY_TO_CONTRIBUTION_ID = "InReplyTo-Contribution-ID"
SESSION_REPLACES = "Session-Replaces"
MESSAGE_DIRECTION = "Message-Direction"

#: Warning codes used in the seeds (RFC 3261 20.43 wire form ``code agent "text"``).
WARNING_ANONYMITY_NOT_ALLOWED = (119, "Anonymity not allowed")
WARNING_FUNCTION_NOT_ALLOWED = (122, "Function not allowed")
WARNING_SERVICE_NOT_AUTHORISED = (127, "Service not authorised")
WARNING_VERSION_NOT_SUPPORTED = (132, "Version not supported")

#: RFC 5366 option tag and dispositions; RFC 5364 history form.
OPTION_RECIPIENT_LIST_INVITE = "recipient-list-invite"
DISPOSITION_RECIPIENT_LIST = "recipient-list"
DISPOSITION_RECIPIENT_LIST_HISTORY = "recipient-list-history"
RESOURCE_LISTS_TYPE = "application/resource-lists+xml"
SDP_TYPE = "application/sdp"
CONFERENCE_INFO_TYPE = "application/conference-info+xml"
