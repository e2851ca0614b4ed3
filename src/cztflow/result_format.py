"""Name and schema tag of ``cztflow-result.json``, the file open engines write and analyses read."""

RESULT_FILE = "cztflow-result.json"
RESULT_FORMAT = "cztflow-result/1"
