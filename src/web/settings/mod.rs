//! Owner settings pages: the WhatsApp connection and the bot.

mod bot;
mod whatsapp;

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().merge(whatsapp::routes()).merge(bot::routes())
}
