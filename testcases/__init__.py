"""The conformance test cases, installed as ``conformance.testcases``.

Laid out like the specifications: ``testcases/<document>/<role>/test_<section>_<topic>.py``.
Run them with ``cpm-conformance run`` (or ``pytest`` over this folder, source tree or
installed).
"""
