"""The Dagster definitions: assets, asset checks, the job, schedule, sensor and resources. Everything they do is in
the framework-free packages (:mod:`orchestration.feeds`, :mod:`orchestration.quality`,
:mod:`orchestration.warehouse`); :mod:`orchestration.definitions` puts them into one ``Definitions`` object."""
