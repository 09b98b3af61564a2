//! A benchmark's figures: each with its unit, the baseline measured in the same run (when
//! the figure has one) and the ratio to it; printed as a table and as one
//! `BENCH name value unit baseline ratio` line each (`-` where there is none).

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    pub baseline: Option<f64>,
    /// What the figure is held against (the design's target), for the table.
    pub target: &'static str,
}

impl Figure {
    pub fn new(name: impl Into<String>, value: f64, unit: &'static str, target: &'static str) -> Self {
        Self { name: name.into(), value, unit, baseline: None, target }
    }

    pub fn against(mut self, baseline: f64) -> Self {
        self.baseline = Some(baseline);
        self
    }

    pub fn ratio(&self) -> Option<f64> {
        self.baseline.filter(|b| *b > 0.0).map(|b| self.value / b)
    }
}

/// Prints the table, then the machine-readable lines.
pub fn print(figures: &[Figure]) {
    println!();
    println!("{:<44} {:>12} {:<6} {:>12} {:>8}  target", "figure", "value", "unit", "baseline", "ratio");
    for f in figures {
        let baseline = f.baseline.map(|b| format!("{b:.1}")).unwrap_or_else(|| "-".into());
        let ratio = f.ratio().map(|r| format!("{r:.2}")).unwrap_or_else(|| "-".into());
        println!(
            "{:<44} {:>12.1} {:<6} {:>12} {:>8}  {}",
            f.name, f.value, f.unit, baseline, ratio, f.target
        );
    }
    println!();
    for f in figures {
        let baseline = f.baseline.map(|b| format!("{b:.3}")).unwrap_or_else(|| "-".into());
        let ratio = f.ratio().map(|r| format!("{r:.3}")).unwrap_or_else(|| "-".into());
        println!("BENCH {} {:.3} {} {baseline} {ratio}", f.name, f.value, f.unit);
    }
}

/// The `q`-quantile (0..=1) of `values` (sorted here), 0 when empty.
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let i = ((values.len() - 1) as f64 * q).round() as usize;
    values[i]
}
