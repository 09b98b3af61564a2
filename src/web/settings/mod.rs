//! Owner settings pages: the WhatsApp connection, the bot, its knowledge base (and trying
//! the bot against it) and quick replies.

mod bot;
mod knowledge;
mod replies;
mod try_bot;
mod whatsapp;

use super::routes::Routes;

pub fn routes() -> Routes {
    Routes::new()
        .merge(whatsapp::routes())
        .merge(bot::routes())
        .merge(knowledge::routes())
        .merge(replies::routes())
        .merge(try_bot::routes())
}
