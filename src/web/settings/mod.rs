//! Owner settings pages: the WhatsApp connection, the bot and quick replies.

mod bot;
mod replies;
mod whatsapp;

use super::routes::Routes;

pub fn routes() -> Routes {
    Routes::new().merge(whatsapp::routes()).merge(bot::routes()).merge(replies::routes())
}
