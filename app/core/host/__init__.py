"""The computer and process Sift runs in: where its files live, the environment and native
libraries set up at start, privacy, the log and crash reports, and the data folder's lock.

May import: the loose modules of app.core (errors, records…) only.
"""
