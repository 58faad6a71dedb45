"""Scale: scenario sweeps, large Monte Carlo runs and sensitivity, on Dask distributed.

- :mod:`materiel.sweep.spec` and :mod:`materiel.sweep.cases`: the sweep spec (YAML) and its
  expansion into cases with stable ids;
- :mod:`materiel.sweep.run`: run a sweep on a Dask client, resumable, failures reported;
- :mod:`materiel.sweep.montecarlo`: one large Monte Carlo run split across workers, the same
  result whatever the number of workers;
- :mod:`materiel.sweep.lp`: LP sweeps re-solved in place;
- :mod:`materiel.sweep.sensitivity`: Morris / Sobol rankings of the uncertain inputs (SALib);
- :mod:`materiel.sweep.cluster`: a LocalCluster or a scheduler address.

See docs/scale.md.
"""
