"""The client flows use the same PF emulator fixture as the Conversation Function cases."""

from conformance.testcases.conversation_function.client.conftest import pf_emulator

__all__ = ["pf_emulator"]
