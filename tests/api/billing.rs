//! Plans, quotas and seats, the monthly invoice run, ZATCA phase-1 invoices and their
//! page and PDF, collecting them through Moyasar, and changing plans.

pub mod card_data;
pub mod invoice_page;
pub mod invoice_run;
pub mod invoices;
pub mod page;
pub mod payments;
pub mod plan_hopping;
pub mod quota;
pub mod seats;
