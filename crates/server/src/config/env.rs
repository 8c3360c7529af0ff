//! Reading variables: the environment as a map, numbers within ranges, and problems that name
//! their variable.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use time::Duration;

/// One setting that cannot be used, and the variable it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub variable: &'static str,
    pub problem: String,
}

/// Why the configuration cannot be used: every problem found, each naming its variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// The variables named, in the order found.
    #[cfg(test)]
    pub fn variables(&self) -> Vec<&'static str> {
        self.problems.iter().map(|p| p.variable).collect()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [only] = self.problems.as_slice() {
            return write!(f, "{}: {}", only.variable, only.problem);
        }
        write!(f, "{} settings must change:", self.problems.len())?;
        for Problem { variable, problem } in &self.problems {
            write!(f, "\n  {variable}: {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// A configuration error of one problem.
pub(super) fn error(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        problems: vec![Problem {
            variable,
            problem: problem.into(),
        }],
    }
}

/// The variables, as read once.
pub(super) struct Env(pub(super) HashMap<String, String>);

impl Env {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.trim().is_empty())
    }

    pub(super) fn number<T: FromStr + PartialOrd + Copy + fmt::Display>(
        &self,
        name: &'static str,
        default: T,
        min: T,
        max: T,
    ) -> Result<T, ConfigError> {
        let Some(raw) = self.get(name) else {
            return Ok(default);
        };
        let value: T = raw
            .trim()
            .parse()
            .map_err(|_| error(name, format!("must be a whole number, got {raw:?}")))?;
        if value < min || value > max {
            return Err(error(name, format!("must be between {min} and {max}")));
        }
        Ok(value)
    }

    pub(super) fn seconds(
        &self,
        name: &'static str,
        default: i64,
        min: i64,
        max: i64,
    ) -> Result<Duration, ConfigError> {
        self.number(name, default, min, max).map(Duration::seconds)
    }
}
