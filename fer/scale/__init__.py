"""Bulk labelling past one process: the inputs named by paths, globs or object-store URIs
(``sources``), the output tables that a job appends to and resumes from (``results``), and the
labelling run as Ray Data over a cluster's workers (``ray_engine``, imported only with ``--engine ray``).
"""
