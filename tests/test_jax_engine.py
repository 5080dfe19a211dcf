"""The shared JAX/BlackJAX path: log densities against direct scipy computations, posteriors
against independent computations (grids, PyMC's own NUTS), same seed same draws."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import special, stats

from nof1.models.exposure import exposure

pytest.importorskip("pymc")

ABAB = np.repeat([0.0, 1.0, 0.0, 1.0], 14)


def _unconstrained(jm, values: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(values[name], dtype=float))
                           for name, _shape, _size, _dtype in jm.point_map_info])


def _interval(v: float, lo: float, hi: float) -> tuple[float, float]:
    """Unconstrained value and log-Jacobian of PyMC's interval transform."""
    return math.log(v - lo) - math.log(hi - v), math.log((v - lo) * (hi - v) / (hi - lo))


def _discrete(family: str, y: np.ndarray, keep: np.ndarray, k: int = 0, **priors):
    from nof1.models import discrete_pymc as dp

    day = np.arange(1, 57)[keep]
    data = dp.DiscreteData.from_daily(y=y[keep], day=day, u=ABAB[:, None], u_day=np.arange(1, 57))
    pr = dp.DiscretePriors(**priors)
    n_pad = dp._pad_length(data.n)
    structure = dp.ModelStructure(family=family, n_categories=k, n_treatments=1, carryover=True,
                                  autocorrelation=True, trend=False, n_pad=n_pad, priors=pr.key())
    values = dp._data_values(data, n_pad, centre=True)
    alpha_mean = 0.3
    comp = dp._build(structure, pr, values, alpha_mean)
    jm = comp.jax_model
    args = jm.args({**values, "alpha_mean": np.asarray(alpha_mean)})
    return data, pr, values, jm, args, n_pad


def _latent(day: np.ndarray, eps: np.ndarray, phi: float, sigma: float) -> np.ndarray:
    """The gap-aware AR(1) term from iid eps, written out directly."""
    z = np.empty(day.size)
    z[0] = sigma * eps[0]
    for i in range(1, day.size):
        r = phi ** (day[i] - day[i - 1])
        z[i] = r * z[i - 1] + sigma * math.sqrt(1 - r * r) * eps[i]
    return z


def _common_prior(pr, beta: float, tau: float, phi: float, sigma: float, effect_sd: float
                  ) -> tuple[float, dict[str, float]]:
    lp = stats.norm.logpdf(beta, pr.effect_mean, effect_sd)
    lp += stats.lognorm.logpdf(tau, pr.tau_sigma, scale=pr.tau_median) + math.log(tau)
    u_phi, j_phi = _interval(phi, pr.phi_low, pr.phi_high)
    lp += -math.log(pr.phi_high - pr.phi_low) + j_phi
    lp += stats.halfnorm.logpdf(sigma, scale=pr.sigma_scale) + math.log(sigma)
    return lp, {"beta": np.array([beta]), "tau_log__": math.log(tau), "phi_interval__": u_phi,
                "sigma_log__": math.log(sigma)}


@pytest.mark.parametrize("family", ["ordinal", "count", "binary"])
def test_discrete_log_density_matches_scipy(family: str) -> None:
    """Each discrete model's PyMC graph translated to JAX (latent AR(1) with gaps through the
    JAX form of the AR(1) Op, carryover, padding) against the log posterior written out with
    scipy, transforms' log-Jacobians included."""
    rng = np.random.default_rng(4)
    keep = rng.uniform(size=56) > 0.15
    keep[0] = True
    if family == "ordinal":
        y = rng.integers(0, 5, 56).astype(float)
        data, pr, values, jm, args, n_pad = _discrete(family, y, keep, k=5, cut_prior="uniform")
    elif family == "count":
        y = rng.poisson(3, 56).astype(float)
        data, pr, values, jm, args, n_pad = _discrete(family, y, keep)
    else:
        y = (rng.uniform(size=56) < 0.4).astype(float)
        data, pr, values, jm, args, n_pad = _discrete(family, y, keep)
    assert n_pad > data.n and int(np.diff(data.t).max()) > 1
    day = data.t.astype(int)
    offsets = []
    for _trial in range(4):
        beta, tau = rng.normal(0, 1), rng.uniform(0.3, 4)
        phi, sigma = rng.uniform(-0.4, 0.9), rng.uniform(0.3, 1.5)
        eps = rng.normal(size=n_pad)
        lp, q = _common_prior(pr, beta, tau, phi, sigma, pr.effect_sd_for(family))
        q["eps"] = eps
        lp += stats.norm.logpdf(eps).sum()
        x = exposure(ABAB, tau)[day - 1]
        eta = (x - values["xbar"][0]) * beta + _latent(day, eps[:data.n], phi, sigma)
        yy = data.y
        if family == "ordinal":
            c1, steps = rng.uniform(-3, -1), rng.uniform(0.3, 2, 3)
            cuts = np.concatenate([[c1], c1 + np.cumsum(steps)])
            q["c1_interval__"], j1 = _interval(c1, pr.cut_low, pr.cut_high)
            lp += -math.log(pr.cut_high - pr.cut_low) + j1
            q["cut_step_interval__"] = np.empty(3)
            for i, s in enumerate(steps):
                q["cut_step_interval__"][i], js = _interval(s, 0.0, pr.cut_step_high)
                lp += -math.log(pr.cut_step_high) + js
            ext = np.concatenate([[-np.inf], cuts, [np.inf]])
            lp += np.log(special.expit(ext[yy + 1] - eta) - special.expit(ext[yy] - eta)).sum()
        elif family == "count":
            alpha, inv = rng.normal(1, 0.3), rng.uniform(0.2, 1.2)
            q["alpha"], q["inv_sqrt_disp_log__"] = alpha, math.log(inv)
            lp += stats.norm.logpdf(alpha, 0.3, pr.intercept_sd)
            lp += stats.halfnorm.logpdf(inv, scale=pr.dispersion_scale) + math.log(inv)
            psi, mu = 1 / inv**2, np.exp(alpha + eta)
            lp += (special.gammaln(yy + psi) - special.gammaln(psi) - special.gammaln(yy + 1)
                   + psi * np.log(psi / (psi + mu)) + yy * np.log(mu / (psi + mu))).sum()
        else:
            alpha = rng.normal(0, 1)
            q["alpha"] = alpha
            lp += stats.norm.logpdf(alpha, 0.3, pr.intercept_sd)
            lp += stats.bernoulli.logpmf(yy, special.expit(alpha + eta)).sum()
        got = jm.log_density(_unconstrained(jm, q), args)
        offsets.append(got - lp)
    # PyMC's normalising constants differ from scipy's by a parameter-free ~3e-8 (rounding in
    # its constant terms); the part that depends on the parameters agrees to ~1e-12.
    assert max(abs(v) for v in offsets) < 1e-6, (family, offsets)
    assert max(offsets) - min(offsets) < 1e-9, (family, offsets)


def test_ordinal_dirichlet_log_density_matches_pymc_own_graph() -> None:
    """The induced-Dirichlet cut points (simplex transform): the JAX translation against PyMC's
    own log density of the same model evaluated by PyTensor (with the data set in it)."""
    rng = np.random.default_rng(5)
    keep = rng.uniform(size=56) > 0.1
    keep[0] = True
    y = rng.integers(0, 7, 56).astype(float)
    data, pr, values, jm, args, n_pad = _discrete("ordinal", y, keep, k=7)
    model = jm.model
    for name in jm.data_names:
        if name != "alpha_mean":
            model[name].set_value(np.asarray(values[name], dtype=model[name].dtype))
    logp = model.compile_logp()
    for _ in range(3):
        q = rng.normal(0, 0.7, jm.dim)
        point, offset = {}, 0
        for name, shape, size, _dtype in jm.point_map_info:
            point[name] = q[offset:offset + size].reshape(shape)
            offset += size
        assert jm.log_density(q, args) == pytest.approx(float(logp(point)), abs=1e-8)


def test_ar1_jax_form_matches_the_recursion_and_its_gradient() -> None:
    from nof1.models.ar1 import _ar1_adjoint_py, _ar1_forward_py, ar1_filter_jax
    from nof1.models.jax_nuts import jax

    j = jax()
    rng = np.random.default_rng(0)
    eps, a, s = rng.normal(size=(3, 9)), rng.uniform(-0.5, 0.9, (3, 9)), rng.uniform(0.5, 2, (3, 9))
    a[:, 0] = 0.0
    wts = rng.normal(size=(3, 9))
    z = _ar1_forward_py(eps, a, s)
    assert np.allclose(np.asarray(ar1_filter_jax(eps, a, s)), z, atol=1e-13)
    grads = j.grad(lambda e, a_, s_: (ar1_filter_jax(e, a_, s_) * wts).sum(), argnums=(0, 1, 2))(
        eps, a, s)
    for got, want in zip(grads, _ar1_adjoint_py(eps, a, s, z, wts), strict=True):
        assert np.allclose(np.asarray(got), want, atol=1e-12)


def test_series_log_density_in_jax_matches_pymc_own_graph() -> None:
    """The series model translated to JAX (padded participants and days) equals PyMC's own log
    density of the unpadded model (checked against scipy in test_pooling) up to the padding's
    prior terms and constant cells."""
    from nof1.models import hierarchical as h

    rng = np.random.default_rng(2)
    n, t = 3, 30
    codes = np.tile(np.repeat([0, 1, 0, 1, 0, 1], 5), (n, 1))
    keep = rng.random((n, t)) < 0.7
    keep[:, 0] = True
    keep[2, 3:14] = False         # an 11-day gap or more
    keep[2, 14] = True
    p, d = np.nonzero(keep)
    arrays = h.SeriesArrays.build(p, d, 5 + rng.normal(size=p.size), codes,
                                  participants=["a", "b", "c"], treatments=["B"])
    pr = h.HierarchicalPriors()
    sizes = h.padded_sizes(arrays)
    assert sizes[0] == 8 and sizes[1] == 32
    comp = h._compiled(arrays, pr, "shared", True, sizes)
    jm = comp.jax_model
    args = jm.args(h.model_data(arrays, n_participants=sizes[0], n_days=sizes[1],
                                 n_patterns=sizes[2]))
    own = h.build_model(arrays, pr, tau="shared")
    logp = own.compile_logp()
    offsets = []
    for _ in range(3):
        q = rng.normal(0, 0.5, jm.dim)
        padded, offset = {}, 0
        for name, shape, size, _dtype in jm.point_map_info:
            padded[name] = q[offset:offset + size].reshape(shape)
            offset += size
        point = {k: (v[:n] if v.ndim and v.shape[0] == sizes[0] else v) for k, v in padded.items()}
        extra = 0.0   # the padding participants' prior terms
        for name in ("z_beta", "level", "z_phi"):
            sd = pr.baseline_sd if name == "level" else 1.0
            mean = pr.baseline_mean if name == "level" else 0.0
            extra += stats.norm.logpdf(padded[name][n:], mean, sd).sum()
        ls = padded["sigma_log__"][n:]
        extra += (stats.halfnorm.logpdf(np.exp(ls), scale=pr.sigma_scale) + ls).sum()
        cells = sizes[0] * sizes[1] - n * t
        extra += cells * stats.norm.logpdf(0.0)
        offsets.append(jm.log_density(q, args) - (float(logp(point)) + extra))
    # a parameter-free offset (~1e-10 relative: rounding in the normalising constants) at most
    assert max(abs(v) for v in offsets) < 1e-5, offsets
    assert max(offsets) - min(offsets) < 1e-9, offsets


def _grid_posterior(loglik, alpha_grid, beta_grid, alpha_prior, beta_prior):
    a, b = np.meshgrid(alpha_grid, beta_grid, indexing="ij")
    lp = loglik(a[..., None], b[..., None]) + alpha_prior(a) + beta_prior(b)
    w = np.exp(lp - lp.max())
    pb = w.sum(axis=0)
    pb /= pb.sum()
    cdf = np.cumsum(pb)
    return float(pb @ beta_grid), float(np.interp(0.025, cdf, beta_grid)), \
        float(np.interp(0.975, cdf, beta_grid)), float(np.sqrt(pb @ beta_grid**2 - (pb @ beta_grid) ** 2))


@pytest.mark.parametrize("family", ["binary", "count"])
def test_discrete_posterior_agrees_with_a_grid(family: str) -> None:
    """Without the latent AR(1) and carryover the posterior of (alpha, beta) is 2-d (count: the
    dispersion is fixed large by the data being Poisson; it is integrated on a grid too): NUTS
    through the shared path against quadrature on a fine grid."""
    from nof1.models.discrete_pymc import DiscreteData, DiscretePriors, fit_discrete

    rng = np.random.default_rng(11)
    x = ABAB
    if family == "binary":
        y = (rng.uniform(size=56) < special.expit(-0.5 + 1.2 * x)).astype(float)
    else:
        y = rng.poisson(np.exp(0.8 + 0.5 * x)).astype(float)
    data = DiscreteData.from_daily(y=y, day=np.arange(1, 57), u=x[:, None])
    pr = DiscretePriors(intercept_mean=0.0)
    post = fit_discrete(family, data, pr, carryover=False, autocorrelation=False, draws=3000,
                        tune=700, chains=2, seed=3)
    b = post.beta[..., 0].ravel()
    xc = x - x.mean()
    ag, bg = np.linspace(-3, 3, 301), np.linspace(-3, 4, 351)
    if family == "binary":
        def loglik(a, bb):
            eta = a + bb * xc
            return (y * eta - np.logaddexp(0, eta)).sum(-1)
        mean, lo, hi, sd = _grid_posterior(loglik, ag, bg, lambda a: stats.norm.logpdf(a, 0, 2.5),
                                           lambda bb: stats.norm.logpdf(bb, 0, 2.0))
    else:
        ag, bg = np.linspace(0.3, 1.6, 131), np.linspace(-0.4, 1.4, 181)
        invs = np.linspace(0.005, 0.6, 60)
        dens = []
        for inv in invs:
            psi = 1 / inv**2

            def loglik(a, bb, psi=psi):
                mu = np.exp(a + bb * xc)
                return stats.nbinom.logpmf(y, psi, psi / (psi + mu)).sum(-1)
            aa, bbg = np.meshgrid(ag, bg, indexing="ij")
            lp = (loglik(aa[..., None], bbg[..., None]) + stats.norm.logpdf(aa, 0, 2.5)
                  + stats.norm.logpdf(bbg, 0, 1.0) + stats.halfnorm.logpdf(inv))
            dens.append(lp)
        lp = np.stack(dens)
        w = np.exp(lp - lp.max()) * np.gradient(invs)[:, None, None]
        pb = w.sum(axis=(0, 1))
        pb /= pb.sum()
        cdf = np.cumsum(pb)
        mean = float(pb @ bg)
        sd = float(np.sqrt(pb @ bg**2 - mean**2))
        lo, hi = float(np.interp(0.025, cdf, bg)), float(np.interp(0.975, cdf, bg))
    # (count: Poisson data put the dispersion near its boundary, where a rare divergence occurs)
    assert post.diagnostics["divergences"] <= 3
    # ESS of ~2,000+ per parameter: Monte Carlo sd of the mean ~0.02 sd, of a 2.5% quantile ~0.06
    assert abs(b.mean() - mean) < 0.08 * sd
    assert abs(np.quantile(b, 0.025) - lo) < 0.15 * sd
    assert abs(np.quantile(b, 0.975) - hi) < 0.15 * sd


def test_discrete_same_seed_same_draws_and_one_program_per_bucket() -> None:
    from nof1.models import discrete_pymc as dp

    rng = np.random.default_rng(8)
    y = rng.integers(0, 4, 56).astype(float)
    day = np.arange(1, 57)
    a = dp.DiscreteData.from_daily(y=y, day=day, u=ABAB[:, None])
    keep = np.ones(56, bool)
    keep[[10, 30]] = False      # 54 days: the same 56-row bucket
    b = dp.DiscreteData.from_daily(y=y[keep], day=day[keep], u=ABAB[:, None], u_day=day)
    kw = {"n_categories": 4, "draws": 200, "tune": 200}
    first = dp.fit_discrete("ordinal", a, seed=1, **kw)
    again = dp.fit_discrete("ordinal", a, seed=1, **kw)
    other = dp.fit_discrete("ordinal", b, seed=1, **kw)
    assert np.array_equal(first.beta, again.beta)
    # the chains move (a NaN gradient at the ±CUT_BOUND ends once froze them: all divergent)
    assert first.diagnostics["divergences"] <= 2 and np.unique(first.beta).size > 300
    assert not np.array_equal(first.beta, other.beta)
    assert other.diagnostics["compiled_from_cache"] is True
    comp = dp._CACHE[first.structure]
    assert len(comp.jax_model.samplers[(200, 200)].traces) == 1


def test_chains_in_parallel_give_the_draws_of_chains_run_alone() -> None:
    """A chain's draws depend only on its seed and start: run one at a time (width 1), two at
    once on two devices, or as the plain single-chain program, the draws are the same bits."""
    from nof1.models import discrete_pymc as dp
    from nof1.models.jax_nuts import chain_devices, jax, jittered_starts, run_chains, sample

    rng = np.random.default_rng(3)
    y = (rng.random(56) < 0.3 + 0.3 * ABAB).astype(float)
    data = dp.DiscreteData.from_daily(y=y, day=np.arange(1, 57), u=ABAB[:, None])
    post = dp.fit_discrete("binary", data, draws=100, tune=100, seed=2)
    jm = dp._CACHE[post.structure].jax_model
    values = dp._data_values(data, post.diagnostics["n_pad"])
    args = jm.args({**values, "alpha_mean": np.asarray(0.0)})
    starts = jittered_starts(jm, args, 3, np.random.default_rng(5))
    kw = {"starts": starts, "seeds": [11, 12, 13], "tune": 100, "draws": 100}
    alone = sample(jm, args, parallel=1, **kw)
    together = sample(jm, args, parallel=2, **kw)
    assert np.array_equal(alone.positions, together.positions)
    assert np.array_equal(alone.tree_size, together.tree_size)
    run = jm.samplers[(100, 100)]
    plain = run(jax().random.PRNGKey(12), jax().numpy.asarray(starts[1]), args, 0.9)
    assert np.array_equal(np.asarray(plain[0]), alone.positions[1])
    assert run_chains(run, args, starts[:1], [11], 0.9, parallel=4)[0][0].shape == (100, jm.dim)
    # nof1 was imported before JAX (tests/conftest.py, as for a user): one CPU device per core,
    # so on a machine with 2+ cores the two-at-once path above really ran on two devices
    import os

    from nof1.devices import MAX_CHAIN_DEVICES
    assert chain_devices() == max(1, min(os.cpu_count() or 1, MAX_CHAIN_DEVICES))


def test_unadjusted_refit_shares_the_adjusted_program_and_posterior() -> None:
    """Zero covariate columns leave δ at its prior: the other parameters' posterior is the
    model without covariates (checked against a fit of that model), and the unadjusted refit
    of an adjusted analysis reuses the adjusted model's compiled program."""
    from nof1.models import discrete_pymc as dp

    rng = np.random.default_rng(21)
    day = np.arange(1, 57)
    z = rng.normal(size=(56, 1))
    eta = -1.0 * ABAB + 0.8 * z[:, 0] + rng.normal(0, 0.5, 56)
    y = np.clip(np.round(eta + 2.5), 0, 5)
    plain = dp.DiscreteData.from_daily(y=y, day=day, u=ABAB[:, None])
    adjusted = dataclasses.replace(plain, covariates=z)
    kw = {"n_categories": 6, "draws": 600, "tune": 400, "seed": 4}
    adj = dp.fit_discrete("ordinal", adjusted, **kw)
    slotted = dp.fit_discrete("ordinal", plain, covariate_slots=1, **kw)
    alone = dp.fit_discrete("ordinal", plain, **kw)
    assert slotted.structure == adj.structure and slotted.diagnostics["compiled_from_cache"]
    assert alone.structure.n_covariates == 0
    # δ of the zero column is its prior N(0, COVARIATE_SD)
    assert abs(np.std(slotted.flat("delta")) - dp.COVARIATE_SD) < 0.1 * dp.COVARIATE_SD
    b1, b2 = slotted.flat("beta")[:, 0], alone.flat("beta")[:, 0]
    se = np.hypot(b1.std(), b2.std()) / np.sqrt(300)     # ESS ~ a quarter of the draws
    assert abs(b1.mean() - b2.mean()) < 4 * se
    for q in (0.05, 0.5, 0.95):
        assert abs(np.quantile(b1, q) - np.quantile(b2, q)) < 0.2 * b2.std()
