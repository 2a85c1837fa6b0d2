//! Maximum-likelihood fits through argmin's L-BFGS (More–Thuente line
//! search) on log-parameters, so every parameter stays positive.

use std::sync::Mutex;

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;

use crate::ModelError;

/// A negative log-likelihood and its gradient, both over log-parameters,
/// computed together (they share every expensive term).
pub trait Objective: Sync {
    /// The value and gradient at `theta`.
    fn evaluate(&self, theta: &[f64]) -> (f64, Vec<f64>);
}

/// An evaluation: the point, the value and the gradient there.
type Evaluation = (Vec<f64>, f64, Vec<f64>);

/// argmin asks for the cost and the gradient separately, usually at the
/// same point: the last evaluation is kept to answer the second question.
struct Cached<'a, O> {
    objective: &'a O,
    last: Mutex<Option<Evaluation>>,
}

impl<O: Objective> Cached<'_, O> {
    fn at(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((t, v, g)) = last.as_ref() {
            if t.as_slice() == theta {
                return (*v, g.clone());
            }
        }
        let (v, g) = self.objective.evaluate(theta);
        *last = Some((theta.to_vec(), v, g.clone()));
        (v, g)
    }
}

impl<O: Objective> CostFunction for Cached<'_, O> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, theta: &Self::Param) -> Result<f64, argmin::core::Error> {
        Ok(self.at(theta).0)
    }
}

impl<O: Objective> Gradient for Cached<'_, O> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, theta: &Self::Param) -> Result<Vec<f64>, argmin::core::Error> {
        Ok(self.at(theta).1)
    }
}

/// The minimum found: parameters and iterations.
#[derive(Debug, Clone)]
pub struct Minimum {
    /// The log-parameters at the minimum.
    pub theta: Vec<f64>,
    /// L-BFGS iterations taken.
    pub iterations: u64,
}

/// When to stop.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Most iterations.
    pub max_iters: u64,
    /// Stop when the gradient's norm falls below this.
    pub tolerance_grad: f64,
}

/// Minimises `objective` from `start` to a tight optimum (the CLV fits:
/// four parameters, answers compared to the sixth digit).
pub fn minimise<O: Objective>(objective: &O, start: Vec<f64>) -> Result<Minimum, ModelError> {
    let settings = Settings {
        max_iters: 1_000,
        tolerance_grad: 1e-10,
    };
    minimise_with(objective, start, &settings)
}

/// Minimises `objective` from `start`, stopping as `settings` say.
pub fn minimise_with<O: Objective>(
    objective: &O,
    start: Vec<f64>,
    settings: &Settings,
) -> Result<Minimum, ModelError> {
    let problem = Cached {
        objective,
        last: Mutex::new(None),
    };
    let fail = |e: argmin::core::Error| ModelError::Fit(e.to_string());
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
        .with_tolerance_grad(settings.tolerance_grad)
        .map_err(fail)?
        .with_tolerance_cost(1e-15)
        .map_err(fail)?;
    let max_iters = settings.max_iters;
    let result = Executor::new(problem, solver)
        .configure(|state| state.param(start).max_iters(max_iters))
        .run()
        .map_err(fail)?;
    let state = result.state();
    let theta = state
        .get_best_param()
        .cloned()
        .ok_or_else(|| ModelError::Fit("the optimiser found no parameters".into()))?;
    if theta.iter().any(|t| !t.is_finite()) {
        return Err(ModelError::Fit(format!(
            "the fit diverged (log-parameters {theta:?})"
        )));
    }
    Ok(Minimum {
        theta,
        iterations: state.get_iter(),
    })
}
