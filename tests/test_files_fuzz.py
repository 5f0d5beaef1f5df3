"""Malformed rating files: load_ratings raises ValueError naming the file (and the line where
there is one), never another exception, for hand-written cases and for random mutations of
valid files."""
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastem

VALID = {
    ".csv": "user,item,rating\n1,10,5\n1,11,3\n2,10,4\n3,12,1\n",
    ".tsv": "1\t10\t5\n1\t11\t3\n2\t10\t4\n3\t12\t1\n",
    ".txt": "5 3 0\n0 4 1\n2 0 5\n",
}

CASES = [  # (suffix, content, line named in the message or None)
    (".csv", b"", None),
    (".csv", b"   \n\n", None),
    (".txt", b"", None),
    (".txt", b"1 2 3\n4 5\n", 2),                                        # ragged
    (".csv", b"1,2,3\n4,5,6,7\n", 2),                                    # ragged
    (".csv", b"1,2\n", 1),                                               # too few columns
    (".txt", b"1 2 3\n4 five 6\n", 2),                                   # non-numeric
    (".csv", b"1,2,3\n1,x,4\n", 2),
    (".csv", b"1,2,3\n2,3,abc\n", 2),
    (".csv", b"1,2,nan\n", 1),
    (".csv", b"1,2,inf\n", 1),
    (".txt", b"1 2\ninf 3\n", 2),
    (".csv", b"1,2,3\n\x00\x01\x02\xff\n", 2),                           # binary
    (".txt", bytes(range(256)), 1),
    (".csv", b"1,2,3\n\xff\xfe,1,2\n", 2),                               # invalid UTF-8
    (".csv", b"1,2,3\n99999999999999999999999,1,4\n", 2),               # huge ids
    (".csv", b"1,2,3\n4,-1,4\n", 2),
    (".csv", b"1,2,3\n1.5,2,4\n", 2),
    (".csv", b"1,2,3\r1,3,4\r\n0\n", 3),                                # a lone \r breaks a line
    (".csv", b"1,2,3\r1,2,4\r\x00\n", 3),                              # ... for a NUL byte's line too
    (".csv", b"1,2,3\r\n1,2,4\r\xff,1,2\n", 3),                         # ... and invalid UTF-8's
    (".csv", "1,2,3\n\u00e9l\u00e8ve,\u4e2d\u6587,5\n".encode(), 2),      # unicode
    (".txt", "1 2\n3 \u00bd\n".encode(), 2),                               # a vulgar fraction
    (".txt", "1 2\n\u2028\n3 x\n".encode(), 3),                            # U+2028 is not a line break
    (".csv", b"1,2,3\nuser,item,rating\n4,5,6\n", 2),                    # a header in the middle
    (".csv", b"user,item,rating\n1,2,3\n1,2,4\n", 3),                    # duplicate rating
    (".csv", b"user,item,rating\n", None),                               # header only
    (".npz", b"PK\x03\x04 truncated", None),
    (".npz", b"not a zip at all", None),
]


def message_names_file_and_line(message: str, path, line):
    assert message.startswith(str(path)), message
    if line is not None:
        assert message.startswith(f"{path}:{line}:"), message


@pytest.mark.parametrize("suffix, content, line", CASES)
def test_malformed_files_name_the_file_and_line(suffix, content, line, tmp_path):
    path = tmp_path / f"ratings{suffix}"
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        fastem.load_ratings(path)
    message_names_file_and_line(str(info.value), path, line)


def test_valid_files_still_load(tmp_path):
    for suffix, text in VALID.items():
        path = tmp_path / f"ok{suffix}"
        path.write_text(text)
        R = fastem.load_ratings(path)
        assert R.nnz == (6 if suffix == ".txt" else 4)
        assert np.all(np.isfinite(R.values.astype(float)))


@st.composite
def mutated_files(draw):
    """(suffix, bytes): a valid file with random lines, bytes or fields inserted, replaced or cut."""
    suffix = draw(st.sampled_from(sorted(VALID)))
    lines = VALID[suffix].encode().split(b"\n")
    junk = st.one_of(st.binary(max_size=12), st.text(max_size=12).map(str.encode),
                     st.sampled_from([b"user,item,rating", b"1e400", b"-0", b"0x1F", b"1_000", b"NaN", b"\t",
                                      b"9" * 30, b",,,", b"1,2", b"\r", "\u2028".encode(), b"\xef\xbb\xbf"]))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines)))
        action = draw(st.sampled_from(["insert", "replace", "append", "cut"]))
        piece = draw(junk)
        if action == "insert" or not lines or at == len(lines):
            lines.insert(at, piece)
        elif action == "replace":
            lines[at] = piece
        elif action == "append":
            lines[at] = lines[at] + piece
        else:
            lines[at] = lines[at][: draw(st.integers(0, len(lines[at])))]
    return suffix, b"\n".join(lines)


FUZZ_EXAMPLES = 300


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated_files())
def test_fuzzed_files_load_or_raise_value_error_naming_the_file(tmp_path, case):
    suffix, content = case
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(content)
    try:
        R = fastem.load_ratings(path)
    except ValueError as e:
        message = str(e)
        assert message.startswith(str(path)), message
        if re.match(re.escape(str(path)) + r":\d+:", message):
            line = int(message[len(str(path)) + 1:].split(":")[0])
            assert 1 <= line <= len(content.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"))
        return
    assert R.nnz > 0 and np.all(np.isfinite(R.values.astype(float)))
