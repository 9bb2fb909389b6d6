"""report layer (see DESIGN.md): the result model, results.json and JUnit XML writers.

- :mod:`conformance.report.model`: :class:`RunResults`, :class:`TestCaseResult`,
  :class:`RequirementResult`, :func:`exit_status`.
- :mod:`conformance.report.results`: :class:`ResultsWriter` (results.jsonl as each test
  case ends, results.json at the end), :func:`load_results`, :func:`write_junit`.
"""
