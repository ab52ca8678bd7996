//! `communicate`: broadcast or private chat.

use chaosops_model::{ActionType, Role};

use super::{ActionContext, ActionHandler};

/// Appends a trimmed message to the shared chat or to one role's inbox.
pub(crate) struct Communicate;

impl ActionHandler for Communicate {
    fn action_type(&self) -> ActionType {
        ActionType::Communicate
    }

    fn apply(&self, cx: &mut ActionContext<'_>) {
        let message = cx.turn.args.message.as_deref().unwrap_or("").trim();
        if message.is_empty() {
            // Flagged but not counted: the environment keeps the counter at least 1.
            cx.flags.miscommunication = true;
            return;
        }
        let sender = cx.turn.role;
        let to = cx.turn.args.to.as_deref().unwrap_or("").trim();
        if to.is_empty() || to.eq_ignore_ascii_case("all") {
            cx.state.chat_history.push(format!("[{sender}] {message}"));
            return;
        }
        match Role::ALL
            .iter()
            .find(|r| to.eq_ignore_ascii_case(r.as_str()))
        {
            Some(&recipient) => cx
                .state
                .private_chat
                .push(recipient, format!("[{sender} -> {recipient}] {message}")),
            None => cx.state.miscommunications += 1,
        }
    }
}
