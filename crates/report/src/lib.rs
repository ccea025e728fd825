//! The picture of a capture: the flows that `sfbflow classify --out DIR` wrote, drawn like the
//! Skype for Business Server 2015 protocol-workloads poster, as one self-contained HTML file.
//!
//! - [`find_tables`] turns the command line's files and folders into the tables to read:
//!   `flows*.parquet` (found recursively in folders, rotated and Hive-partitioned outputs
//!   included) and the `findings`, `dns` and `sip` tables beside them.
//! - [`Report::load`] reads them (a file that is not Parquet, or lacks a column the report
//!   needs, is an [`Error`] naming the file) into compact rows and aggregates.
//! - [`Report::render_html`] lays out the diagrams (`layout.rs`: fixed columns per role group,
//!   orthogonal arrows in channels between the columns, labels beside the responder's box) and
//!   fills the page template (askama, `templates/report.html`): inline CSS, inline SVG and a
//!   few lines of inline script to sort tables. The page fetches nothing.
//!
//! The page carries stable ids and data attributes for tests and scripts: a role's box is
//! `<g class="role" data-role="front_end">` inside `<svg id="diagram-overview">` (and
//! `diagram-<workload>`), an arrow `<g class="arrow" data-from=".." data-to=".."
//! data-documented="true|false" data-findings="..">`, a finding row `<tr data-code="..">`.

mod chart;
mod error;
mod html;
mod layout;
mod load;
mod model;
mod names;
mod svg;
mod time;

use std::path::{Path, PathBuf};

use sfbflow_catalogue::Catalogue;

pub use error::Error;
pub use load::{TableFiles, find_tables};

/// What the page says about itself.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// A title for the page (the capture's name, a site); a default one without.
    pub title: Option<String>,
    /// The version of the program that wrote the report, for the page's footer.
    pub generator: String,
}

/// The tables of one or more `classify --out` runs, read and aggregated.
#[derive(Debug)]
pub struct Report {
    data: load::Data,
    inputs: Vec<String>,
}

impl Report {
    /// Reads the tables that [`find_tables`] found. `inputs` are the command line's paths, as
    /// the page names them.
    pub fn load(files: &TableFiles, inputs: &[PathBuf]) -> Result<Report, Error> {
        let data = load::read_all(files)?;
        Ok(Report {
            data,
            inputs: inputs.iter().map(|p| display_path(p)).collect(),
        })
    }

    /// Number of flows read.
    pub fn flow_count(&self) -> usize {
        self.data.flows.len()
    }

    /// The page: one HTML document with everything inline.
    pub fn render_html(
        &self,
        catalogue: &Catalogue,
        options: &ReportOptions,
    ) -> Result<String, Error> {
        html::render(&self.data, catalogue, &self.inputs, options)
    }
}

fn display_path(p: &Path) -> String {
    p.display().to_string()
}
