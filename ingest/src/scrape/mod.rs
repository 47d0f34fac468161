//! Scraping: `scrape_configs`, targets, relabeling and scrape loops.

pub mod config;
