//! The banner and the test header printed before a run, as k6 lays it out.

use stampede_config::plan::Plan;

const LOGO: &str = r"
   _____ _                                 _
  / ____| |                               | |
 | (___ | |_ __ _ _ __ ___  _ __   ___  __| | ___
  \___ \| __/ _` | '_ ` _ \| '_ \ / _ \/ _` |/ _ \
  ____) | || (_| | | | | | | |_) |  __/ (_| |  __/
 |_____/ \__\__,_|_| |_| |_| .__/ \___|\__,_|\___|
                           | |
                           |_|
";

/// The logo and the "execution / script / web dashboard / output /
/// scenarios" block.
pub fn header(plan: &Plan, script: &str, dashboard: Option<&str>, outputs: &[String]) -> String {
    let mut s = String::from(LOGO);
    s.push('\n');
    s.push_str("     execution: local\n");
    s.push_str(&format!("        script: {script}\n"));
    if let Some(url) = dashboard {
        s.push_str(&format!(" web dashboard: {url}\n"));
    }
    let out = if outputs.is_empty() {
        "-".to_string()
    } else {
        outputs.join(", ")
    };
    s.push_str(&format!("        output: {out}\n\n"));
    s.push_str(&format!("     scenarios: {}\n", plan.scenarios_header()));
    for (name, desc) in plan.scenario_descriptions() {
        s.push_str(&format!("              * {name}: {desc}\n"));
    }
    s
}
