//! Values as invoice2data's Python code handles them: its truthiness, equality, `str()`, `sum`,
//! `min` and `max`, and how its JSON output writes them.

use chrono::NaiveDateTime;
use serde_json::json;
use std::cmp::Ordering;

#[derive(Debug, Clone, Default)]
pub enum Val {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Date(NaiveDateTime),
    List(Vec<Val>),
    Obj(Dict),
}

/// A Python dict: insertion order, a key set again keeps its place.
#[derive(Debug, Clone, Default)]
pub struct Dict(pub Vec<(String, Val)>);

impl Dict {
    pub fn get(&self, k: &str) -> Option<&Val> {
        self.0.iter().find(|(key, _)| key == k).map(|(_, v)| v)
    }
    pub fn contains(&self, k: &str) -> bool {
        self.get(k).is_some()
    }
    pub fn set(&mut self, k: &str, v: Val) {
        match self.0.iter_mut().find(|(key, _)| key == k) {
            Some((_, old)) => *old = v,
            None => self.0.push((k.to_string(), v)),
        }
    }
    pub fn remove(&mut self, k: &str) -> Option<Val> {
        let i = self.0.iter().position(|(key, _)| key == k)?;
        Some(self.0.remove(i).1)
    }
}

impl Val {
    /// Python's `bool(v)`.
    pub fn truthy(&self) -> bool {
        match self {
            Val::Null => false,
            Val::Bool(b) => *b,
            Val::Int(i) => *i != 0,
            Val::Float(f) => *f != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::Date(_) => true,
            Val::List(l) => !l.is_empty(),
            Val::Obj(d) => !d.0.is_empty(),
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Val::Bool(b) => Some(*b as i64 as f64),
            Val::Int(i) => Some(*i as f64),
            Val::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// invoice2data keeps a parser's value when `value or value == 0.0`.
    pub fn kept(&self) -> bool {
        self.truthy() || self.number() == Some(0.0)
    }

    /// Python's `==` (numbers compare across int, float and bool).
    pub fn py_eq(&self, other: &Val) -> bool {
        match (self, other) {
            (Val::Str(a), Val::Str(b)) => a == b,
            (Val::Date(a), Val::Date(b)) => a == b,
            (Val::Null, Val::Null) => true,
            (Val::List(a), Val::List(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.py_eq(y)),
            (Val::Obj(a), Val::Obj(b)) => {
                a.0.len() == b.0.len() && a.0.iter().all(|(k, v)| b.get(k).is_some_and(|w| v.py_eq(w)))
            }
            (a, b) => matches!((a.number(), b.number()), (Some(x), Some(y)) if x == y),
        }
    }

    /// Python's `str(v)`.
    pub fn py_str(&self) -> String {
        match self {
            Val::Null => "None".into(),
            Val::Bool(b) => if *b { "True" } else { "False" }.into(),
            Val::Int(i) => i.to_string(),
            Val::Float(f) => py_float_repr(*f),
            Val::Str(s) => s.clone(),
            Val::Date(d) => d.format("%Y-%m-%d %H:%M:%S").to_string(),
            Val::List(_) | Val::Obj(_) => self.to_json().to_string(),
        }
    }

    /// As invoice2data's JSON output writes it (dates as `%Y-%m-%d`).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Val::Null => serde_json::Value::Null,
            Val::Bool(b) => json!(b),
            Val::Int(i) => json!(i),
            Val::Float(f) => serde_json::Number::from_f64(*f).map(serde_json::Value::Number).unwrap_or(json!(py_float_repr(*f))),
            Val::Str(s) => json!(s),
            Val::Date(d) => json!(d.format("%Y-%m-%d").to_string()),
            Val::List(l) => serde_json::Value::Array(l.iter().map(Val::to_json).collect()),
            Val::Obj(d) => serde_json::Value::Object(d.0.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
        }
    }

    /// Python's ordering for `min`/`max`; None where Python raises TypeError.
    fn py_cmp(&self, other: &Val) -> Option<Ordering> {
        match (self, other) {
            (Val::Str(a), Val::Str(b)) => Some(a.cmp(b)),
            (Val::Date(a), Val::Date(b)) => Some(a.cmp(b)),
            (a, b) => a.number()?.partial_cmp(&b.number()?),
        }
    }
}

/// Python's `repr(float)`: the shortest text that reads back the same, with `.0` on integers.
pub fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let s = format!("{f:?}");
    if f.abs() >= 1e16 || (f != 0.0 && f.abs() < 1e-4) {
        // Python switches to exponent notation here: 1e+16, 1e-05.
        let e = format!("{f:e}");
        let (m, exp) = e.split_once('e').unwrap_or((&e, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    s
}

/// Python's `float(text)`: surrounding whitespace allowed, underscores between digits.
pub fn py_float(text: &str) -> Option<f64> {
    let t = text.trim();
    let t: String = if t.contains('_') {
        let b: Vec<char> = t.chars().collect();
        let ok = b.iter().enumerate().all(|(i, c)| {
            *c != '_' || (i > 0 && i + 1 < b.len() && b[i - 1].is_ascii_digit() && b[i + 1].is_ascii_digit())
        });
        if !ok {
            return None;
        }
        t.replace('_', "")
    } else {
        t.to_string()
    };
    match t.to_ascii_lowercase().trim_start_matches(['+', '-']) {
        "inf" | "infinity" | "nan" => {}
        s if s.is_empty() || !s.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '.') => return None,
        _ => {}
    }
    t.parse().ok()
}

/// Python's `sum`, `min`, `max` over invoice2data's values; Err with Python's complaint.
pub fn sum(values: &[Val]) -> Result<Val, String> {
    let mut int: i64 = 0;
    let mut float: Option<f64> = None;
    for v in values {
        match v {
            Val::Int(i) => match float.as_mut() {
                Some(f) => *f += *i as f64,
                None => int = int.checked_add(*i).ok_or("the sum is too large")?,
            },
            Val::Bool(b) => int += *b as i64,
            Val::Float(f) => *float.get_or_insert(int as f64) += f,
            other => return Err(format!("cannot add up {:?}: only numbers can be summed (give the field `type: float`)", other.py_str())),
        }
    }
    Ok(float.map(Val::Float).unwrap_or(Val::Int(int)))
}

pub fn extreme(values: &[Val], want: Ordering) -> Result<Val, String> {
    let mut best = values.first().cloned().ok_or("nothing to compare")?;
    for v in &values[1..] {
        match v.py_cmp(&best) {
            Some(o) if o == want => best = v.clone(),
            Some(_) => {}
            None => return Err(format!("cannot compare {:?} with {:?}", v.py_str(), best.py_str())),
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_float_text() {
        assert_eq!(py_float_repr(1939.0), "1939.0");
        assert_eq!(py_float_repr(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(py_float_repr(1e16), "1e+16");
        assert_eq!(py_float(" 12.5 "), Some(12.5));
        assert_eq!(py_float("1_000"), Some(1000.0));
        assert_eq!(py_float("1 000"), None);
        assert_eq!(py_float("€12"), None);
    }

    #[test]
    fn python_sum_and_equality() {
        assert!(matches!(sum(&[Val::Int(1), Val::Float(2.5)]).unwrap(), Val::Float(f) if f == 3.5));
        assert!(matches!(sum(&[Val::Int(1), Val::Int(2)]).unwrap(), Val::Int(3)));
        assert!(sum(&[Val::Str("a".into())]).is_err());
        assert!(Val::Int(1).py_eq(&Val::Float(1.0)));
        assert!(!Val::Str("1".into()).py_eq(&Val::Int(1)));
    }
}
