//! Owner settings pages: the WhatsApp connection and the bot.

mod bot;
mod whatsapp;

use super::routes::Routes;

pub fn routes() -> Routes {
    Routes::new().merge(whatsapp::routes()).merge(bot::routes())
}
