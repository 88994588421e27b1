"""Hypothesis profiles. In CI (CI=true) property tests are derandomised: the same examples on every run, so a landing
never goes red on an example drawn by chance; a failure there is a real regression. Elsewhere they draw afresh and
explore (and remember failures in .hypothesis/). VPCLAB_HYPOTHESIS_PROFILE=ci|explore picks one by hand; each test's
own max_examples stays as it sets it."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile(os.environ.get("VPCLAB_HYPOTHESIS_PROFILE")
                      or ("ci" if os.environ.get("CI") == "true" else "explore"))
