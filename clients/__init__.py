"""CrossReturn SDK: records, commitments, verification, signing and contract access."""
