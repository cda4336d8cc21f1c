"""ingest-sge: Enedis SGE for multi-site public buildings and professional sites.

The published flux files (R50, R151, R171) are fetched from the subscriber's SFTP
drop, decrypted, unzipped and parsed as a stream, and their readings published to
the readings topic; each file is processed once.
"""
