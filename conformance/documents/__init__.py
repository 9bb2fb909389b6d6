"""documents layer (see DESIGN.md): lxml models of the CPM documents.

Every parser takes untrusted bytes and raises only
:class:`~conformance.errors.DocumentError`; builders and parsers come in pairs:

===========================  ==============================  ===============================
document                     parse                           build
===========================  ==============================  ===============================
conference-info (RFC 4575)   :func:`parse_conference_info`   :func:`build_conference_info`
Group State Object           :func:`parse_group_state`       :func:`build_group_state`
resource-lists (RFC 4826)    :func:`parse_resource_list`     :func:`build_resource_list`
message/cpim (RFC 3862)      :func:`parse_cpim`              :func:`build_cpim`
message/imdn+xml (RFC 5438)  :func:`parse_imdn`              :func:`build_imdn`
===========================  ==============================  ===============================

All XML goes through :func:`conformance.documents.xml.parse_xml`, the single hardened
parser configuration.
"""

from conformance.documents.conference_info import (
    CONFERENCE_INFO_CONTENT_TYPE,
    ConferenceInfo,
    ConferenceState,
    build_conference_info,
    parse_conference_info,
    validate_conference_info,
)
from conformance.documents.cpim import CPIM_CONTENT_TYPE, CpimMessage, build_cpim, parse_cpim
from conformance.documents.groupstate import (
    GROUP_STATE_CONTENT_TYPE,
    GroupState,
    build_group_state,
    parse_group_state,
)
from conformance.documents.imdn import IMDN_CONTENT_TYPE, Imdn, build_imdn, parse_imdn
from conformance.documents.resource_lists import (
    RESOURCE_LISTS_CONTENT_TYPE,
    ResourceList,
    build_resource_list,
    parse_resource_list,
)
from conformance.documents.xml import DEFAULT_LIMITS, XmlLimits, parse_xml

__all__ = [
    "CONFERENCE_INFO_CONTENT_TYPE",
    "CPIM_CONTENT_TYPE",
    "DEFAULT_LIMITS",
    "GROUP_STATE_CONTENT_TYPE",
    "IMDN_CONTENT_TYPE",
    "RESOURCE_LISTS_CONTENT_TYPE",
    "ConferenceInfo",
    "ConferenceState",
    "CpimMessage",
    "GroupState",
    "Imdn",
    "ResourceList",
    "XmlLimits",
    "build_conference_info",
    "build_cpim",
    "build_group_state",
    "build_imdn",
    "build_resource_list",
    "parse_conference_info",
    "parse_cpim",
    "parse_group_state",
    "parse_imdn",
    "parse_resource_list",
    "parse_xml",
    "validate_conference_info",
]
