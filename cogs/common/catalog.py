"""Every message users see, in one catalog, looked up by key and locale.

A user-facing string is written here once and nowhere else. Locales fall back to English.
"""

from __future__ import annotations

from typing import Any

from core.options import MAX_PROMPT_LENGTH

FALLBACK_LOCALE = "en"

CATALOG: dict[str, dict[str, str]] = {
    "en": {
        "cooldown": "⏳ You're on cooldown. You can use /imagine again {when}.",
        "already_running": (
            "⏳ You already have images on the way. Wait for them before asking for more."
        ),
        "invalid_prompt_blank": "✏️ The prompt is empty. Describe the image you want.",
        "invalid_prompt_long": (
            f"✏️ The prompt is too long: keep it to {MAX_PROMPT_LENGTH:,} characters."
        ),
        "invalid_prompt": "✏️ The prompt can't be used. Write it as plain text.",
        "invalid_model": "⚙️ That model isn't available here. Pick one from the list: {choices}.",
        "invalid_n": "⚙️ The number of images must be a whole number from 1 to 10.",
        "invalid_aspect": "⚙️ That aspect ratio isn't supported. Pick one from the list.",
        "invalid_resolution": "⚙️ The resolution must be 1k or 2k.",
        "invalid_option": "⚙️ One of the options is not valid. Pick values from the lists.",
        "content_refused": (
            "🚫 The image service refused this prompt under its content policy. "
            "Try describing it differently."
        ),
        "invalid_request": (
            "⚠️ The image service rejected this request. Try other options; if it keeps "
            "happening, tell the server's admins."
        ),
        "auth_failed": (
            "⚠️ The bot can't sign in to the image service right now. "
            "Please tell the server's admins (job `{job_id}`)."
        ),
        "quota_exceeded": (
            "⚠️ The bot's image service account has run out of credits. "
            "Please tell the server's admins; try again later."
        ),
        "rate_limited": "⌛ The image service is very busy right now. Try again in a minute.",
        "transient": (
            "⌛ The image service didn't answer in time. Try again in a moment "
            "(your cooldown was not used)."
        ),
        "bad_response": (
            "⚠️ The image service sent back nothing usable. Try again (your cooldown was not used)."
        ),
        "delivery_failed": (
            "⚠️ Your images were made, but Discord would not take the upload (job `{job_id}`)."
        ),
        "internal": (
            "⚠️ Something went wrong on our side. Try again; the operator can look up "
            "job `{job_id}`."
        ),
        "withheld": "🚫 {count} of {total} images were withheld by the image service's moderation.",
        "unusable": "⚠️ {count} of {total} images came back broken and were left out.",
        "undeliverable": (
            "⚠️ {count} of {total} images were too large for Discord and were left out."
        ),
        "result_title": "🎨 /imagine",
        "field_model": "Model",
        "field_aspect": "Aspect",
        "field_resolution": "Resolution",
        "field_images": "Images",
        "field_requester": "Requested by",
        "field_time": "Time",
        "model_picks": "model's choice",
        "api_default": "default",
        "seconds": "{value:.1f} s",
        "more_images": "Images {first}–{last} of {total}",
        "footer": "job {job_id}",
        # A server's rules, answered privately before anything is generated.
        "rule_disabled": "🚫 /imagine is turned off in this server.",
        "rule_channel": "🚫 /imagine can't be used in this channel. It works in: {channels}.",
        "rule_nsfw_only": "🔞 In this server, /imagine works only in age-restricted channels.",
        "rule_blocked": (
            "🚫 This prompt can't be used in this server. Please ask for something else."
        ),
        "blocked_paused": (
            "⏸️ Too many of your prompts were blocked here lately. "
            "You can use /imagine in this server again {when}."
        ),
        "rule_max_n": "⚙️ This server allows at most {max_n} images per request.",
        "rule_model": "⚙️ That model isn't allowed in this server. Allowed: {choices}.",
        "rule_resolution": "⚙️ That resolution isn't allowed in this server. Allowed: {choices}.",
        "dm_off": "💬 /imagine works in servers only.",
        "guild_only": "💬 This command works in servers only.",
        "quota_user": (
            "📅 You have {left} of your {limit} daily images left, and this needs {n}. "
            "The count starts again {when}."
        ),
        "quota_guild": (
            "📅 This server has {left} of its {limit} daily images left, and this needs {n}. "
            "The count starts again {when}."
        ),
        "video_quota_user": (
            "📅 You have {left} of your {limit} daily seconds of video left, and this clip "
            "needs {n}. The count starts again {when}."
        ),
        "video_quota_guild": (
            "📅 This server has {left} of its {limit} daily seconds of video left, and this "
            "clip needs {n}. The count starts again {when}."
        ),
        # The queue, restarts and delivery outside the interaction.
        "queue_full": (
            "🚦 /imagine is very busy and its line is full right now. Try again in a few "
            "minutes (this cost you nothing)."
        ),
        "queue_place": "⏳ You're number {place} in line. Your images will start soon.",
        "queue_started": "🎨 Making your images…",
        "button_cancel": "Cancel",
        "cancelled": "✖️ Cancelled. Nothing was made and nothing was counted.",
        "cancel_not_yours": "🔒 Only the person who asked can cancel this request.",
        "cancel_too_late": "⏳ This request isn't waiting any more, so it can't be cancelled.",
        "shutting_down": "🔄 The bot is restarting. Try again in a minute.",
        "suspended": (
            "🔄 The bot is restarting. Your request keeps its place and will go on shortly."
        ),
        "interrupted": (
            "⚠️ Your /imagine request (job `{job_id}`) could not be finished because the bot "
            "restarted. Please try again; it was not counted."
        ),
        "waited_too_long": (
            "⌛ /imagine was too busy to start your request (job `{job_id}`) in time, so it "
            "was closed. Nothing was made and nothing was counted; please try again later."
        ),
        "interrupted_for": (
            "⚠️ {user}, your /imagine request (job `{job_id}`) could not be finished because "
            "the bot restarted. Please try again; it was not counted."
        ),
        "result_for": "🎨 {user}, here are your images.",
        "missing_permissions": (
            "⚠️ I couldn't post the result of job `{job_id}` here. I need these permissions "
            "in this channel: {permissions}. A server admin can grant them."
        ),
        "perm_view_channel": "View Channel",
        "perm_send_messages": "Send Messages",
        "perm_attach_files": "Attach Files",
        "perm_embed_links": "Embed Links",
        "modlog_missing_permissions": (
            "⚠️ Job {job_id}: I couldn't post the result in {channel}. I need these "
            "permissions there: {permissions}."
        ),
        "modlog_out_of_credits": (
            "⚠️ The image service account has run out of credits: /imagine can't make "
            "images until the bot's operator adds credits or raises the spending limit."
        ),
        # Result buttons.
        "button_reroll": "Re-roll",
        "button_delete": "Delete",
        "button_edit": "Edit",
        "ctx_edit": "Edit with Grok",
        "ctx_imagine": "Imagine from message",
        "modal_edit_title": "Edit with Grok",
        "modal_imagine_title": "Imagine from message",
        "modal_edit_change": "What should change?",
        "modal_imagine_prompt": "Prompt",
        "modal_edit_which": "Which image (1–{count})?",
        "modal_edit_which_bad": "🖼️ Name one of the images by its number, from 1 to {count}.",
        "field_edit_of": "Edit of",
        "edit_source_upload": "an uploaded picture",
        "edit_source_message": "[a picture]({url})",
        "reroll_not_yours": "🔒 Only the person who asked for these images can re-roll them.",
        "delete_not_yours": (
            "🔒 Only the person who asked for these images, or someone with Manage Messages, "
            "can delete them."
        ),
        "job_gone": "🤷 The bot no longer knows this result.",
        "deleted": "🗑️ Deleted.",
        "delete_partly": "⚠️ Some of the messages could not be deleted.",
        "pressed_elsewhere": (
            "🔒 This button doesn't belong to this message, so it does nothing here."
        ),
        "reroll_forbidden": (
            "🔒 You can't use /imagine in this channel, so its buttons can't make new"
            " pictures here either."
        ),
        "permissions_unknown": (
            "⌛ I couldn't check whether you may use /imagine here. Try again in a moment."
        ),
        # /imagine-quota
        "quota_title": "📅 Your /imagine use here",
        "quota_cooldown_ready": "Cooldown: ready now.",
        "quota_cooldown_wait": "Cooldown: ready {when}.",
        "quota_running": "One of your jobs is running now.",
        "quota_exempt": "Your role is exempt from the cooldown and the per-member quota.",
        "quota_user_line": "Today: {used} images made, {left} of {limit} left.",
        "quota_user_unlimited": "Today: {used} images made, no daily limit.",
        "quota_guild_line": "Server budget: {left} of {limit} images left today.",
        "quota_guild_unlimited": "Server budget: no daily limit.",
        "quota_video_line": "Video today: {used} s made, {left} of {limit} s left.",
        "quota_video_unlimited": "Video today: {used} s made, no daily limit.",
        "quota_video_guild_line": "Server video budget: {left} of {limit} s left today.",
        "quota_video_guild_unlimited": "Server video budget: no daily limit.",
        "quota_resets": "The counts start again {when} (midnight UTC).",
        "quota_paused": (
            "⏸️ Too many of your prompts were blocked here lately: you're paused, and can "
            "use /imagine in this server again {when}."
        ),
        "quota_spend_bot_line": "Spend left today under the bot's limit: {left} of {limit}.",
        "quota_spend_bot_reached": (
            "The bot's daily spending limit ({limit}) is reached: requests are refused until "
            "the count starts again."
        ),
        "quota_spend_guild_line": "Spend left today under this server's limit: {left} of {limit}.",
        "quota_spend_guild_reached": (
            "This server's daily spending limit ({limit}) is reached: requests here are "
            "refused until the count starts again."
        ),
        # /imagine-admin
        "admin_needs_manage": (
            "🔒 You need the Manage Server permission to see or change /imagine's settings."
        ),
        "set_unchanged": "ℹ️ That was already the setting; nothing changed.",
        "set_enabled": "✅ /imagine is on in this server.",
        "set_disabled": "✅ /imagine is off in this server.",
        "set_channel_added": (
            "✅ Added {channel}. /imagine now works only in the listed channels ({count})."
        ),
        "set_channel_removed": "✅ Removed {channel}. Channels listed: {count}.",
        "set_channels_cleared": "✅ No channels listed: /imagine works in every channel.",
        "channels_full": "⚙️ At most {max} channels can be listed.",
        "set_term_added": "✅ Blocked term added ({count} in all).",
        "set_term_removed": "✅ Blocked term removed ({count} left).",
        "term_empty": "⚙️ A blocked term needs at least one letter or digit.",
        "term_too_long": "⚙️ A blocked term can be at most {max} characters long.",
        "term_exists": "ℹ️ That term is already blocked.",
        "term_missing": "ℹ️ That term isn't on the list. See /imagine-admin terms list.",
        "terms_full": "⚙️ This server already blocks {max} terms, the most allowed.",
        "terms_none": "No blocked terms.",
        "terms_list": "Blocked terms ({count}):",
        "terms_more": "… and {count} more.",
        "list_more": "…and {count} more",
        "set_nsfw_on": "✅ /imagine now works only in age-restricted channels.",
        "set_nsfw_off": "✅ /imagine works in age-restricted and other channels alike.",
        "set_spoilers_on": "✅ Results are now sent as spoilers.",
        "set_spoilers_off": "✅ Results are no longer sent as spoilers.",
        "set_cooldown": "✅ Cooldown after each delivered job here: {value}.",
        "set_max_n": "✅ Largest number of images per request: {value}.",
        "set_models": "✅ Models members may use: {value}.",
        "set_resolutions": "✅ Resolutions members may use: {value}.",
        "set_role_added": "✅ {role} is exempt from the cooldown and the per-member quota.",
        "set_role_removed": "✅ {role} is no longer exempt.",
        "roles_full": "⚙️ At most {max} exempt roles can be listed.",
        "set_modlog": "✅ The mod log is now {channel}.",
        "set_modlog_off": "✅ The mod log is off.",
        "modlog_failed": (
            "⚠️ I couldn't post in {channel}. Check that I can view it, send messages and "
            "embed links there."
        ),
        "set_reroll_open": "✅ Anyone may now press Re-roll; it counts against their own limits.",
        "set_reroll_closed": "✅ Only the requester may press Re-roll.",
        "set_edits_on": "✅ Members may edit pictures in this server.",
        "set_edits_off": "✅ Editing pictures is turned off in this server.",
        "set_edit_uploads_on": (
            "✅ Members may now edit pictures people uploaded, not only the bot's results."
        ),
        "set_edit_uploads_off": "✅ Members may edit only the bot's own results.",
        "set_video_on": "✅ Members may make video clips (/animate) in this server.",
        "set_video_off": "✅ Video clips (/animate) are turned off in this server.",
        "set_video_seconds": (
            "Daily seconds of video per member here: {member}; for the whole server: {server}."
        ),
        "set_user_quota": "✅ Daily images per member here: {value}.",
        "set_guild_budget": "✅ Daily image budget of this server: {value}.",
        "cooldown_below_min": "⚙️ The bot's operator allows no cooldown shorter than {max} s.",
        "user_quota_above_max": (
            "⚙️ The bot's operator allows at most {max} images per member per day "
            "(0, no limit, is past that too)."
        ),
        "guild_budget_above_max": (
            "⚙️ The bot's operator allows a server at most {max} images per day "
            "(0, no limit, is past that too)."
        ),
        "user_video_above_max": (
            "⚙️ The bot's operator allows at most {max} seconds of video per member per day "
            "(0, no limit, is past that too)."
        ),
        "guild_video_above_max": (
            "⚙️ The bot's operator allows a server at most {max} seconds of video per day "
            "(0, no limit, is past that too)."
        ),
        "value_held": "{limit} (the bot's limit; set here: {value})",
        "value_default": "{value} (the bot's default)",
        "value_seconds": "{seconds} s",
        "value_none_limit": "no limit",
        "value_all": "all ({value})",
        "value_yes": "yes",
        "value_no": "no",
        "value_none": "none",
        "value_everywhere": "every channel",
        "show_title": "⚙️ /imagine in this server",
        "show_enabled": "On",
        "show_channels": "Channels",
        "show_terms": "Blocked terms",
        "show_nsfw": "Age-restricted channels only",
        "show_spoilers": "Results as spoilers",
        "show_cooldown": "Cooldown",
        "show_max_n": "Largest n",
        "show_models": "Models",
        "show_resolutions": "Resolutions",
        "show_exempt": "Exempt roles",
        "show_modlog": "Mod log",
        "show_reroll": "Anyone may re-roll",
        "show_edits": "Edits",
        "show_edit_uploads": "Edits of uploads",
        "show_video": "Video (/animate)",
        "show_user_video": "Daily seconds of video per member",
        "show_guild_video": "Daily seconds of video of the server",
        "show_user_quota": "Daily images per member",
        "show_guild_budget": "Daily server budget",
        "stats_title": "📊 /imagine in this server",
        "stats_today": "Today (UTC)",
        "stats_week": "Last 7 days",
        "stats_lines": (
            "Images generated: {images}\n"
            "Requests refused by the image service: {refused}\n"
            "Requests blocked by this server's terms: {blocked}\n"
            "Requests failed: {failed}\n"
            "Spend: {spend}"
        ),
        "stats_cancelled": "Requests cancelled: {count}",
        "stats_interrupted": "Requests cut short by a restart: {count}",
        "stats_waited_too_long": "Requests the bot was too busy to start: {count}",
        "spend_value": "${usd:.2f}",
        "spend_unknown": "not reported",
        # The mod log (in the server's language).
        "modlog_job": "Job {job_id}: {outcome}",
        "outcome_delivered": "delivered",
        "outcome_refused": "refused by the image service",
        "outcome_blocked": "blocked by this server's terms",
        "outcome_failed": "failed",
        "outcome_cancelled": "cancelled by the requester",
        "outcome_interrupted": "cut short by a restart",
        "outcome_waited_too_long": "closed unstarted: the bot was too busy to start it in time",
        "field_user": "User",
        "field_channel": "Channel",
        "field_parameters": "Parameters",
        "field_cost": "Cost",
        "field_result": "Result",
        "field_term": "Matched term",
        "field_last_job": "Last job",
        "modlog_paused": "Member paused for blocked prompts",
        "modlog_paused_detail": (
            "{user} sent {attempts} blocked prompts within {minutes} minutes and can't use "
            "/imagine here until {when}. Their further attempts are refused without an entry."
        ),
        "field_reason": "Reason",
        "field_by": "By",
        "params_value": "{model} · n={n} · {aspect} · {resolution}",
        "jump": "Open the result",
        "modlog_settings": "⚙️ Settings changed",
        "modlog_deleted": "🗑️ Result of job {job_id} deleted",
        # Command and option descriptions (at most 100 characters each).
        "cmd_imagine": "Create images from a text prompt with Grok Imagine.",
        "opt_prompt": "What the image should show.",
        "opt_model": "Which image model to use.",
        "opt_n": "How many images to make (1–10).",
        "opt_aspect": "The shape of the images; left out, the model picks.",
        "opt_resolution": "1k or 2k; left out, the service's default (1k).",
        # Image edits.
        "opt_image": "A picture to edit with the prompt (JPEG, PNG, WebP or GIF).",
        "opt_image2": "A second picture to combine or edit (name them <IMAGE_0>, <IMAGE_1>).",
        "opt_image3": "A third picture to combine or edit.",
        "edits_unavailable": (
            "🖼️ Editing pictures isn't offered by this image service right now; "
            "creating images from a prompt still works."
        ),
        "input_not_image": (
            "🖼️ Picture {index} is not an image the bot can use. Send a JPEG, PNG, WebP or GIF."
        ),
        "input_corrupt": (
            "🖼️ Picture {index} is damaged or not what it says it is. Try saving it again."
        ),
        "input_too_large": "🖼️ Picture {index} is too large to use. Try a smaller one.",
        "input_download": (
            "🖼️ The bot couldn't fetch picture {index}. Try again, or upload it again."
        ),
        "input_too_many": "🖼️ An edit takes at most three pictures.",
        "input_none": "🖼️ There is no picture to edit here.",
        "input_uploads_off": (
            "🖼️ In this server, only pictures the bot made can be edited, not uploads."
        ),
        "rule_edits": "🚫 Editing pictures is turned off in this server.",
        # Video.
        "rule_video": "🚫 Video clips are off in this server; an admin can turn them on.",
        "video_unavailable": (
            "🎬 This image service doesn't offer video right now; nothing was charged. "
            "Images still work."
        ),
        "video_failed": "🎬 The image service couldn't make this clip. Try another prompt.",
        "video_rendering": "🎬 Rendering your clip… {progress}% ({elapsed} s so far)",
        "video_downloading": "🎬 Fetching your clip… ({elapsed} s so far)",
        "video_expired": "🎬 The clip expired before it could be fetched. Try again.",
        "video_timed_out": "🎬 The clip took too long to make and was given up. Try again.",
        "cmd_animate": "Make a short video clip from a prompt, or from a picture.",
        "opt_animate_prompt": "What happens in the clip.",
        "opt_animate_image": "A picture to start the clip from (its first frame).",
        "opt_duration": "Length in seconds (1–15, default 5).",
        "opt_video_resolution": "480p (default) or 720p.",
        "opt_video_aspect": "The shape of the clip; left out, the service picks.",
        # The Animate button of a result.
        "button_animate": "Animate",
        "modal_animate_title": "Animate with Grok",
        "modal_animate_motion": "What moves, and how?",
        "modal_animate_seconds": "Length in seconds ({first}–{last})",
        "modal_animate_seconds_bad": (
            "🎬 Give the clip's length in whole seconds, from {first} to {last}."
        ),
        "animate_forbidden": (
            "🔒 You can't use /animate in this channel, so the Animate button can't make"
            " clips here either."
        ),
        "animate_permissions_unknown": (
            "⌛ I couldn't check whether you may use /animate here. Try again in a moment."
        ),
        "cmd_quota": "See your cooldown and how many images you have left today.",
        "cmd_admin": "Set up /imagine in this server (needs Manage Server).",
        "cmd_admin_show": "Show /imagine's settings in this server.",
        "cmd_admin_enable": "Turn /imagine on in this server.",
        "cmd_admin_disable": "Turn /imagine off in this server.",
        "grp_channels": "Choose the channels where /imagine may run.",
        "cmd_channels_add": "Allow /imagine in a channel (once any is listed, only listed ones).",
        "cmd_channels_remove": "Take a channel off the list.",
        "cmd_channels_clear": "Allow /imagine in every channel again.",
        "opt_channel": "The channel.",
        "grp_terms": "Words and phrases that /imagine refuses in prompts.",
        "cmd_terms_add": "Block a word or phrase in prompts.",
        "cmd_terms_remove": "Unblock a word or phrase.",
        "cmd_terms_list": "List the blocked words and phrases (only you see the list).",
        "opt_term": "A word or phrase; case, accents and look-alike letters don't matter.",
        "cmd_nsfw_only": "Allow /imagine only in age-restricted channels.",
        "cmd_spoilers": "Send every result as a spoiler.",
        "opt_on": "On or off.",
        "cmd_cooldown": "Seconds a member waits after each delivered job here.",
        "opt_seconds": "Seconds (0 for none); leave out for the bot's default.",
        "cmd_max_n": "The most images one request may ask for.",
        "opt_max_n": "1 to 10; leave out for no server limit.",
        "grp_models": "Choose the models members may use (cost control).",
        "cmd_models_add": "Allow a model (once any is listed, only listed ones).",
        "cmd_models_remove": "Take a model off the list.",
        "cmd_models_clear": "Allow every model again.",
        "opt_admin_model": "The model.",
        "grp_resolutions": "Choose the resolutions members may use (cost control).",
        "cmd_resolutions_add": "Allow a resolution (once any is listed, only listed ones).",
        "cmd_resolutions_remove": "Take a resolution off the list.",
        "cmd_resolutions_clear": "Allow every resolution again.",
        "opt_admin_resolution": "The resolution.",
        "grp_exempt": "Roles exempt from the cooldown and the per-member quota.",
        "cmd_exempt_add": "Exempt a role from the cooldown and the per-member quota.",
        "cmd_exempt_remove": "End a role's exemption.",
        "opt_role": "The role.",
        "grp_modlog": "The channel where every job and settings change is logged.",
        "cmd_modlog_set": "Log every job and settings change in a channel.",
        "cmd_modlog_clear": "Stop the mod log.",
        "cmd_reroll_open": "Let anyone press Re-roll, not only the requester.",
        "cmd_edits": "Let members edit pictures in this server (default on).",
        "cmd_edit_uploads": "Let members edit uploaded pictures, not only the bot's (default off).",
        "cmd_video": "Let members make video clips with /animate here (default off).",
        "cmd_user_quota": "Images each member may make per UTC day here.",
        "cmd_server_budget": "Images the whole server may make per UTC day.",
        "opt_images": "Images a day (0 for no limit); leave out for the bot's default.",
        "opt_member_seconds": "Seconds of video each member may make a day (0: no limit).",
        "opt_server_seconds": "Seconds of video the whole server may make a day (0: no limit).",
        "cmd_stats": "Images generated, refused, blocked and failed, and spend.",
        # Choice names.
        "aspect_1:1": "1:1 square",
        "aspect_16:9": "16:9 landscape",
        "aspect_9:16": "9:16 portrait",
        "aspect_4:3": "4:3 landscape",
        "aspect_3:4": "3:4 portrait",
        "aspect_3:2": "3:2 photo",
        "aspect_2:3": "2:3 photo portrait",
        "aspect_2:1": "2:1 wide",
        "aspect_1:2": "1:2 tall",
        "aspect_19.5:9": "19.5:9 phone landscape",
        "aspect_9:19.5": "9:19.5 phone portrait",
        "aspect_20:9": "20:9 ultrawide",
        "aspect_9:20": "9:20 ultratall",
        "aspect_auto": "auto (model picks)",
        # Spend in money (see core.spend).
        "spend_limit_bot": (
            "💸 The bot has reached its spending limit for today ({limit}). Nothing was "
            "generated or charged. It starts again {when}."
        ),
        "spend_limit_guild": (
            "💸 This server has reached its spending limit for today: {left} of {limit} "
            "left, and this request would cost about {needed}. Nothing was generated or "
            "charged. It starts again {when}."
        ),
        "spend_estimated": "{spend} (estimated)",
        "spend_split": (
            "{spend} ({reported} reported by the image service, {estimated} estimated "
            "from the price table)"
        ),
        "show_spend_limit": "Daily spend limit",
        "set_spend_limit": "✅ Daily spend limit of this server: {value}.",
        "cmd_spend_limit": "US dollars the whole server may spend per UTC day.",
        "opt_usd": "US dollars a day (0 or left out: no limit).",
        "modlog_spend_reached": "💸 Daily spending limit reached",
        "modlog_spend_bot": (
            "The bot's daily spending limit ({limit}) turns requests away: {left} is left "
            "today. /imagine and /animate are refused in every server until the count "
            "starts again {when}; only the bot's operator can raise it."
        ),
        "modlog_spend_guild": (
            "This server's daily spending limit ({limit}) turns requests away: {left} is "
            "left today. /imagine and /animate are refused here until the count starts "
            "again {when}; an admin can raise it with /imagine-admin spend-limit."
        ),
        "modlog_spend_throttled": (
            "Logged at most once every {minutes} minutes; the members refused meanwhile "
            "are not listed."
        ),
        "field_first_refused": "Member refused",
    },
    "zh": {
        "cooldown": "⏳ 你还在冷却中，{when}可以再次使用 /imagine。",
        "already_running": "⏳ 你的图片正在生成中，请等它们送达后再请求。",
        "invalid_prompt_blank": "✏️ 提示词是空的，请描述你想要的图片。",
        "invalid_prompt_long": f"✏️ 提示词太长：请控制在 {MAX_PROMPT_LENGTH} 个字符以内。",
        "invalid_prompt": "✏️ 无法使用这个提示词，请用纯文本书写。",
        "invalid_model": "⚙️ 这里无法使用该模型，请从列表中选择：{choices}。",
        "invalid_n": "⚙️ 图片数量必须是 1 到 10 之间的整数。",
        "invalid_aspect": "⚙️ 不支持该宽高比，请从列表中选择。",
        "invalid_resolution": "⚙️ 分辨率必须是 1k 或 2k。",
        "invalid_option": "⚙️ 有一个选项无效，请从列表中选择。",
        "content_refused": "🚫 图像服务依据其内容政策拒绝了这个提示词，请换一种描述方式。",
        "invalid_request": (
            "⚠️ 图像服务拒绝了这个请求。请尝试其他选项；如果问题持续，请告知服务器管理员。"
        ),
        "auth_failed": "⚠️ 机器人目前无法登录图像服务，请告知服务器管理员（任务 `{job_id}`）。",
        "quota_exceeded": "⚠️ 机器人的图像服务账户额度已用完。请告知服务器管理员，稍后再试。",
        "rate_limited": "⌛ 图像服务现在非常繁忙，请一分钟后再试。",
        "transient": "⌛ 图像服务没有及时响应，请稍后再试（没有占用你的冷却时间）。",
        "bad_response": "⚠️ 图像服务没有返回可用的内容，请再试一次（没有占用你的冷却时间）。",
        "delivery_failed": "⚠️ 图片已经生成，但 Discord 不接受上传（任务 `{job_id}`）。",
        "internal": "⚠️ 我们这边出了点问题。请再试一次；运营者可以查询任务 `{job_id}`。",
        "withheld": "🚫 {total} 张图片中有 {count} 张被图像服务的审核拦下。",
        "unusable": "⚠️ {total} 张图片中有 {count} 张已损坏，已略去。",
        "undeliverable": "⚠️ {total} 张图片中有 {count} 张超出 Discord 的大小限制，已略去。",
        "result_title": "🎨 /imagine",
        "field_model": "模型",
        "field_aspect": "宽高比",
        "field_resolution": "分辨率",
        "field_images": "图片",
        "field_requester": "请求者",
        "field_time": "用时",
        "model_picks": "由模型决定",
        "api_default": "默认",
        "seconds": "{value:.1f} 秒",
        "more_images": "第 {first}–{last} 张，共 {total} 张",
        "footer": "任务 {job_id}",
        "rule_disabled": "🚫 本服务器已关闭 /imagine。",
        "rule_channel": "🚫 这个频道不能使用 /imagine。可以使用的频道：{channels}。",
        "rule_nsfw_only": "🔞 在本服务器，/imagine 只能在年龄限制频道中使用。",
        "rule_blocked": "🚫 本服务器不允许使用这个提示词，请换一个请求。",
        "blocked_paused": (
            "⏸️ 你最近在这里被拦下的提示词太多了，{when}才能在本服务器再次使用 /imagine。"
        ),
        "rule_max_n": "⚙️ 本服务器每次最多只能生成 {max_n} 张图片。",
        "rule_model": "⚙️ 本服务器不允许使用该模型。允许的模型：{choices}。",
        "rule_resolution": "⚙️ 本服务器不允许使用该分辨率。允许的分辨率：{choices}。",
        "dm_off": "💬 /imagine 只能在服务器中使用。",
        "guild_only": "💬 这个命令只能在服务器中使用。",
        "quota_user": (
            "📅 你今天的 {limit} 张图片额度还剩 {left} 张，而这次需要 {n} 张。"
            "额度将于{when}重新计算。"
        ),
        "quota_guild": (
            "📅 本服务器今天的 {limit} 张图片预算还剩 {left} 张，而这次需要 {n} 张。"
            "预算将于{when}重新计算。"
        ),
        "video_quota_user": (
            "📅 你今天的 {limit} 秒视频额度还剩 {left} 秒，而这段视频需要 {n} 秒。"
            "额度将于{when}重新计算。"
        ),
        "video_quota_guild": (
            "📅 本服务器今天的 {limit} 秒视频预算还剩 {left} 秒，而这段视频需要 {n} 秒。"
            "预算将于{when}重新计算。"
        ),
        "button_reroll": "重新生成",
        "button_delete": "删除",
        "button_edit": "编辑",
        "ctx_edit": "用 Grok 编辑",
        "ctx_imagine": "根据消息生成图片",
        "modal_edit_title": "用 Grok 编辑",
        "modal_imagine_title": "根据消息生成图片",
        "modal_edit_change": "要改成什么样？",
        "modal_imagine_prompt": "提示词",
        "modal_edit_which": "编辑哪一张（1–{count}）？",
        "modal_edit_which_bad": "🖼️ 请用编号指明一张图片，1 到 {count}。",
        "field_edit_of": "编辑自",
        "edit_source_upload": "一张上传的图片",
        "edit_source_message": "[一张图片]({url})",
        "reroll_not_yours": "🔒 只有请求这些图片的人才能重新生成。",
        "delete_not_yours": "🔒 只有请求这些图片的人，或拥有“管理消息”权限的人，才能删除它们。",
        "queue_full": "🚦 /imagine 现在非常繁忙，排队已满。请几分钟后再试（本次不计入任何额度）。",
        "queue_place": "⏳ 你排在第 {place} 位，图片很快就会开始生成。",
        "queue_started": "🎨 正在生成你的图片…",
        "button_cancel": "取消",
        "cancelled": "✖️ 已取消。没有生成任何图片，也没有计入额度。",
        "cancel_not_yours": "🔒 只有发出请求的人才能取消它。",
        "cancel_too_late": "⏳ 这个请求已经不在排队中，无法取消。",
        "shutting_down": "🔄 机器人正在重启，请一分钟后再试。",
        "suspended": "🔄 机器人正在重启。你的请求会保留位置，稍后继续。",
        "interrupted": (
            "⚠️ 由于机器人重启，你的 /imagine 请求（任务 `{job_id}`）未能完成。"
            "请再试一次；本次没有计入额度。"
        ),
        "waited_too_long": (
            "⌛ /imagine 太忙，未能及时开始你的请求（任务 `{job_id}`），因此已将其关闭。"
            "没有生成任何图片，也没有计入额度；请稍后再试。"
        ),
        "interrupted_for": (
            "⚠️ {user}，由于机器人重启，你的 /imagine 请求（任务 `{job_id}`）未能完成。"
            "请再试一次；本次没有计入额度。"
        ),
        "result_for": "🎨 {user}，这是你的图片。",
        "missing_permissions": (
            "⚠️ 我无法在这里发布任务 `{job_id}` 的结果。我需要这个频道的以下权限：{permissions}。"
            "服务器管理员可以授予。"
        ),
        "perm_view_channel": "查看频道",
        "perm_send_messages": "发送消息",
        "perm_attach_files": "附加文件",
        "perm_embed_links": "嵌入链接",
        "modlog_missing_permissions": (
            "⚠️ 任务 {job_id}：我无法在 {channel} 发布结果。我需要那里的以下权限：{permissions}。"
        ),
        "modlog_out_of_credits": (
            "⚠️ 图像服务账户的额度已用完：在机器人运营者充值或提高消费上限之前，"
            "/imagine 无法生成图片。"
        ),
        "job_gone": "🤷 机器人已经找不到这个结果了。",
        "deleted": "🗑️ 已删除。",
        "delete_partly": "⚠️ 有些消息无法删除。",
        "pressed_elsewhere": "🔒 这个按钮不属于这条消息，在这里无效。",
        "reroll_forbidden": (
            "🔒 你不能在这个频道使用 /imagine，所以它的按钮也不能在这里生成新图片。"
        ),
        "permissions_unknown": "⌛ 暂时无法确认你能否在这里使用 /imagine，请稍后再试。",
        "quota_title": "📅 你在这里的 /imagine 用量",
        "quota_cooldown_ready": "冷却：现在就可以使用。",
        "quota_cooldown_wait": "冷却：{when}可以使用。",
        "quota_running": "你有一个任务正在进行。",
        "quota_exempt": "你的身份组不受冷却和个人额度限制。",
        "quota_user_line": "今天：已生成 {used} 张，{limit} 张额度还剩 {left} 张。",
        "quota_user_unlimited": "今天：已生成 {used} 张，没有每日上限。",
        "quota_guild_line": "服务器预算：今天 {limit} 张还剩 {left} 张。",
        "quota_guild_unlimited": "服务器预算：没有每日上限。",
        "quota_video_line": "今天的视频：已生成 {used} 秒，{limit} 秒额度还剩 {left} 秒。",
        "quota_video_unlimited": "今天的视频：已生成 {used} 秒，没有每日上限。",
        "quota_video_guild_line": "服务器视频预算：今天 {limit} 秒还剩 {left} 秒。",
        "quota_video_guild_unlimited": "服务器视频预算：没有每日上限。",
        "quota_resets": "额度将于{when}重新计算（UTC 午夜）。",
        "quota_paused": (
            "⏸️ 你最近在这里被拦下的提示词太多，已被暂停：{when}可以在本服务器再次使用 /imagine。"
        ),
        "quota_spend_bot_line": "机器人花费上限今天还剩：{limit} 中的 {left}。",
        "quota_spend_bot_reached": (
            "机器人的每日花费上限（{limit}）已用完：在计数重新开始前，请求都会被拒绝。"
        ),
        "quota_spend_guild_line": "本服务器花费上限今天还剩：{limit} 中的 {left}。",
        "quota_spend_guild_reached": (
            "本服务器的每日花费上限（{limit}）已用完：在计数重新开始前，这里的请求都会被拒绝。"
        ),
        "admin_needs_manage": "🔒 你需要“管理服务器”权限才能查看或更改 /imagine 的设置。",
        "set_unchanged": "ℹ️ 设置本来就是这样，没有任何改动。",
        "set_enabled": "✅ 本服务器已开启 /imagine。",
        "set_disabled": "✅ 本服务器已关闭 /imagine。",
        "set_channel_added": (
            "✅ 已添加 {channel}。现在 /imagine 只能在列出的频道中使用（{count} 个）。"
        ),
        "set_channel_removed": "✅ 已移除 {channel}。列出的频道：{count} 个。",
        "set_channels_cleared": "✅ 没有列出任何频道：/imagine 可以在所有频道中使用。",
        "channels_full": "⚙️ 最多只能列出 {max} 个频道。",
        "set_term_added": "✅ 已添加屏蔽词（共 {count} 个）。",
        "set_term_removed": "✅ 已移除屏蔽词（还剩 {count} 个）。",
        "term_empty": "⚙️ 屏蔽词至少要包含一个字母、数字或汉字。",
        "term_too_long": "⚙️ 屏蔽词最长 {max} 个字符。",
        "term_exists": "ℹ️ 这个词已经被屏蔽了。",
        "term_missing": "ℹ️ 列表中没有这个词。请查看 /imagine-admin terms list。",
        "terms_full": "⚙️ 本服务器已有 {max} 个屏蔽词，已达上限。",
        "terms_none": "没有屏蔽词。",
        "terms_list": "屏蔽词（{count} 个）：",
        "terms_more": "……还有 {count} 个。",
        "list_more": "……等另外 {count} 个",
        "set_nsfw_on": "✅ /imagine 现在只能在年龄限制频道中使用。",
        "set_nsfw_off": "✅ /imagine 在年龄限制频道和其他频道中都可以使用。",
        "set_spoilers_on": "✅ 结果现在会以剧透形式发送。",
        "set_spoilers_off": "✅ 结果不再以剧透形式发送。",
        "set_cooldown": "✅ 在这里每次成功生成后的冷却时间：{value}。",
        "set_max_n": "✅ 每次请求最多可生成的图片数：{value}。",
        "set_models": "✅ 成员可以使用的模型：{value}。",
        "set_resolutions": "✅ 成员可以使用的分辨率：{value}。",
        "set_role_added": "✅ {role} 不再受冷却和个人额度限制。",
        "set_role_removed": "✅ {role} 不再享有豁免。",
        "roles_full": "⚙️ 最多只能列出 {max} 个豁免身份组。",
        "set_modlog": "✅ 管理日志现在发送到 {channel}。",
        "set_modlog_off": "✅ 管理日志已关闭。",
        "modlog_failed": (
            "⚠️ 我无法在 {channel} 发言。请确认我在那里可以查看频道、发送消息和嵌入链接。"
        ),
        "set_reroll_open": "✅ 现在任何人都可以点“重新生成”，用量计入点击者自己的限制。",
        "set_reroll_closed": "✅ 只有请求者可以点“重新生成”。",
        "set_edits_on": "✅ 本服务器的成员可以编辑图片了。",
        "set_edits_off": "✅ 本服务器已关闭图片编辑。",
        "set_edit_uploads_on": "✅ 成员现在可以编辑别人上传的图片，而不只是机器人生成的图片。",
        "set_edit_uploads_off": "✅ 成员只能编辑机器人生成的图片。",
        "set_video_on": "✅ 本服务器的成员现在可以制作视频（/animate）。",
        "set_video_off": "✅ 本服务器已关闭视频（/animate）。",
        "set_video_seconds": "这里每位成员每天的视频秒数：{member}；整个服务器：{server}。",
        "set_user_quota": "✅ 在这里每位成员每天可生成的图片数：{value}。",
        "set_guild_budget": "✅ 本服务器每天的图片预算：{value}。",
        "cooldown_below_min": "⚙️ 机器人运营者不允许短于 {max} 秒的冷却时间。",
        "user_quota_above_max": (
            "⚙️ 机器人运营者规定每位成员每天最多 {max} 张图片（0 即不限，也超出此上限）。"
        ),
        "guild_budget_above_max": (
            "⚙️ 机器人运营者规定每个服务器每天最多 {max} 张图片（0 即不限，也超出此上限）。"
        ),
        "user_video_above_max": (
            "⚙️ 机器人运营者规定每位成员每天最多 {max} 秒视频（0 即不限，也超出此上限）。"
        ),
        "guild_video_above_max": (
            "⚙️ 机器人运营者规定每个服务器每天最多 {max} 秒视频（0 即不限，也超出此上限）。"
        ),
        "value_held": "{limit}（机器人的上限；这里设置的是：{value}）",
        "value_default": "{value}（机器人默认值）",
        "value_seconds": "{seconds} 秒",
        "value_none_limit": "不限",
        "value_all": "全部（{value}）",
        "value_yes": "是",
        "value_no": "否",
        "value_none": "无",
        "value_everywhere": "所有频道",
        "show_title": "⚙️ 本服务器的 /imagine",
        "show_enabled": "已开启",
        "show_channels": "频道",
        "show_terms": "屏蔽词",
        "show_nsfw": "仅限年龄限制频道",
        "show_spoilers": "以剧透形式发送结果",
        "show_cooldown": "冷却时间",
        "show_max_n": "最大图片数",
        "show_models": "模型",
        "show_resolutions": "分辨率",
        "show_exempt": "豁免身份组",
        "show_modlog": "管理日志",
        "show_reroll": "任何人都可重新生成",
        "show_edits": "图片编辑",
        "show_edit_uploads": "编辑上传的图片",
        "show_video": "视频（/animate）",
        "show_user_video": "每位成员每日视频秒数",
        "show_guild_video": "服务器每日视频秒数",
        "show_user_quota": "每位成员每日图片数",
        "show_guild_budget": "服务器每日预算",
        "stats_title": "📊 本服务器的 /imagine",
        "stats_today": "今天（UTC）",
        "stats_week": "最近 7 天",
        "stats_lines": (
            "已生成图片：{images}\n"
            "被图像服务拒绝的请求：{refused}\n"
            "被本服务器屏蔽词拦下的请求：{blocked}\n"
            "失败的请求：{failed}\n"
            "花费：{spend}"
        ),
        "stats_cancelled": "已取消的请求：{count}",
        "stats_interrupted": "因重启而中断的请求：{count}",
        "stats_waited_too_long": "机器人太忙、未能开始的请求：{count}",
        "spend_value": "${usd:.2f}",
        "spend_unknown": "未报告",
        "modlog_job": "任务 {job_id}：{outcome}",
        "outcome_delivered": "已送达",
        "outcome_refused": "被图像服务拒绝",
        "outcome_blocked": "被本服务器的屏蔽词拦下",
        "outcome_failed": "失败",
        "outcome_cancelled": "被请求者取消",
        "outcome_interrupted": "因重启而中断",
        "outcome_waited_too_long": "未开始即关闭：机器人太忙，未能及时开始",
        "field_user": "用户",
        "field_channel": "频道",
        "field_parameters": "参数",
        "field_cost": "花费",
        "field_result": "结果",
        "field_term": "匹配的屏蔽词",
        "field_last_job": "最后一个任务",
        "modlog_paused": "成员因屏蔽词被暂停",
        "modlog_paused_detail": (
            "{user} 在 {minutes} 分钟内发送了 {attempts} 个被拦下的提示词，{when}之前不能在这里"
            "使用 /imagine。其间的再次尝试会被拒绝，不再记入日志。"
        ),
        "field_reason": "原因",
        "field_by": "操作者",
        "params_value": "{model} · n={n} · {aspect} · {resolution}",
        "jump": "打开结果",
        "modlog_settings": "⚙️ 设置已更改",
        "modlog_deleted": "🗑️ 任务 {job_id} 的结果已被删除",
        "cmd_imagine": "用 Grok Imagine 根据文字提示生成图片。",
        "opt_prompt": "图片要展示的内容。",
        "opt_model": "使用哪个图像模型。",
        "opt_n": "生成几张图片（1–10）。",
        "opt_aspect": "图片的形状；不填则由模型决定。",
        "opt_resolution": "1k 或 2k；不填则使用服务的默认值（1k）。",
        "opt_image": "用提示词编辑的图片（JPEG、PNG、WebP 或 GIF）。",
        "opt_image2": "第二张要组合或编辑的图片（可用 <IMAGE_0>、<IMAGE_1> 指代）。",
        "opt_image3": "第三张要组合或编辑的图片。",
        "edits_unavailable": "🖼️ 此图像服务目前不提供图片编辑；根据提示词生成图片仍然可用。",
        "input_not_image": "🖼️ 第 {index} 张图片无法使用，请发送 JPEG、PNG、WebP 或 GIF 图片。",
        "input_corrupt": "🖼️ 第 {index} 张图片已损坏或与其声明不符，请重新保存后再试。",
        "input_too_large": "🖼️ 第 {index} 张图片太大，无法使用，请换一张小一些的。",
        "input_download": "🖼️ 无法获取第 {index} 张图片，请重试或重新上传。",
        "input_too_many": "🖼️ 一次编辑最多使用三张图片。",
        "input_none": "🖼️ 这里没有可以编辑的图片。",
        "input_uploads_off": "🖼️ 在本服务器，只能编辑机器人生成的图片，不能编辑上传的图片。",
        "rule_edits": "🚫 本服务器已关闭图片编辑。",
        "rule_video": "🚫 本服务器未开启视频；管理员可以开启。",
        "video_unavailable": "🎬 此图像服务目前不提供视频，未扣费；图片功能仍然可用。",
        "video_failed": "🎬 图像服务未能生成此视频。请换个提示词试试。",
        "video_rendering": "🎬 正在渲染你的视频… {progress}%（已用 {elapsed} 秒）",
        "video_downloading": "🎬 正在取回你的视频…（已用 {elapsed} 秒）",
        "video_expired": "🎬 视频在取回之前已过期。请重试。",
        "video_timed_out": "🎬 视频生成时间过长，已放弃。请重试。",
        "cmd_animate": "根据提示词或图片制作一段短视频。",
        "opt_animate_prompt": "视频中发生的事情。",
        "opt_animate_image": "作为视频第一帧的图片。",
        "opt_duration": "时长（秒，1–15，默认 5）。",
        "opt_video_resolution": "480p（默认）或 720p。",
        "opt_video_aspect": "视频的画面比例；不填则由服务决定。",
        # The Animate button of a result.
        "button_animate": "动画",
        "modal_animate_title": "用 Grok 制作动画",
        "modal_animate_motion": "画面里什么在动，怎么动？",
        "modal_animate_seconds": "时长（秒，{first}–{last}）",
        "modal_animate_seconds_bad": "🎬 请用整数秒写出片段时长，{first} 到 {last}。",
        "animate_forbidden": (
            "🔒 你不能在这个频道使用 /animate，所以“动画”按钮也不能在这里生成片段。"
        ),
        "animate_permissions_unknown": "⌛ 暂时无法确认你能否在这里使用 /animate，请稍后再试。",
        "cmd_quota": "查看你的冷却时间和今天还能生成多少张图片。",
        "cmd_admin": "设置本服务器的 /imagine（需要“管理服务器”权限）。",
        "cmd_admin_show": "查看本服务器的 /imagine 设置。",
        "cmd_admin_enable": "在本服务器开启 /imagine。",
        "cmd_admin_disable": "在本服务器关闭 /imagine。",
        "grp_channels": "选择可以使用 /imagine 的频道。",
        "cmd_channels_add": "允许在某个频道使用 /imagine（一旦列出频道，就只限这些频道）。",
        "cmd_channels_remove": "把某个频道从列表中移除。",
        "cmd_channels_clear": "重新允许在所有频道使用 /imagine。",
        "opt_channel": "频道。",
        "grp_terms": "/imagine 在提示词中拒绝的词语。",
        "cmd_terms_add": "屏蔽提示词中的某个词语。",
        "cmd_terms_remove": "取消屏蔽某个词语。",
        "cmd_terms_list": "列出屏蔽的词语（只有你能看到）。",
        "opt_term": "一个词或短语；不区分大小写、重音和形近字母。",
        "cmd_nsfw_only": "只允许在年龄限制频道使用 /imagine。",
        "cmd_spoilers": "把每个结果都以剧透形式发送。",
        "opt_on": "开或关。",
        "cmd_cooldown": "在这里每次成功生成后，成员需要等待的秒数。",
        "opt_seconds": "秒数（0 表示不冷却）；不填则使用机器人默认值。",
        "cmd_max_n": "每次请求最多可以生成的图片数。",
        "opt_max_n": "1 到 10；不填则不设服务器限制。",
        "grp_models": "选择成员可以使用的模型（控制成本）。",
        "cmd_models_add": "允许某个模型（一旦列出模型，就只限这些模型）。",
        "cmd_models_remove": "把某个模型从列表中移除。",
        "cmd_models_clear": "重新允许所有模型。",
        "opt_admin_model": "模型。",
        "grp_resolutions": "选择成员可以使用的分辨率（控制成本）。",
        "cmd_resolutions_add": "允许某个分辨率（一旦列出分辨率，就只限这些分辨率）。",
        "cmd_resolutions_remove": "把某个分辨率从列表中移除。",
        "cmd_resolutions_clear": "重新允许所有分辨率。",
        "opt_admin_resolution": "分辨率。",
        "grp_exempt": "不受冷却和个人额度限制的身份组。",
        "cmd_exempt_add": "让某个身份组不受冷却和个人额度限制。",
        "cmd_exempt_remove": "取消某个身份组的豁免。",
        "opt_role": "身份组。",
        "grp_modlog": "记录每个任务和每次设置更改的频道。",
        "cmd_modlog_set": "在某个频道记录每个任务和每次设置更改。",
        "cmd_modlog_clear": "停止管理日志。",
        "cmd_reroll_open": "允许任何人点“重新生成”，而不只是请求者。",
        "cmd_edits": "允许成员在本服务器编辑图片（默认开启）。",
        "cmd_edit_uploads": "允许成员编辑上传的图片，而不只是机器人生成的（默认关闭）。",
        "cmd_video": "允许成员在本服务器用 /animate 制作视频（默认关闭）。",
        "cmd_user_quota": "在这里每位成员每个 UTC 日可以生成的图片数。",
        "cmd_server_budget": "整个服务器每个 UTC 日可以生成的图片数。",
        "opt_images": "每天的图片数（0 表示不限）；不填则使用机器人默认值。",
        "opt_member_seconds": "每位成员每天可以制作的视频秒数（0 表示不限）。",
        "opt_server_seconds": "整个服务器每天可以制作的视频秒数（0 表示不限）。",
        "cmd_stats": "已生成、被拒绝、被拦下和失败的数量，以及花费。",
        "aspect_1:1": "1:1 正方形",
        "aspect_16:9": "16:9 横向",
        "aspect_9:16": "9:16 纵向",
        "aspect_4:3": "4:3 横向",
        "aspect_3:4": "3:4 纵向",
        "aspect_3:2": "3:2 照片",
        "aspect_2:3": "2:3 纵向照片",
        "aspect_2:1": "2:1 宽幅",
        "aspect_1:2": "1:2 长幅",
        "aspect_19.5:9": "19.5:9 手机横屏",
        "aspect_9:19.5": "9:19.5 手机竖屏",
        "aspect_20:9": "20:9 超宽",
        "aspect_9:20": "9:20 超长",
        "aspect_auto": "自动（由模型决定）",
        # Spend in money (see core.spend).
        "spend_limit_bot": (
            "💸 机器人今天的花费已达上限（{limit}）。没有生成任何图片，也没有产生费用。"
            "上限将于{when}重新计算。"
        ),
        "spend_limit_guild": (
            "💸 本服务器今天的花费已达上限：{limit} 中还剩 {left}，而这次请求大约需要 "
            "{needed}。没有生成任何图片，也没有产生费用。上限将于{when}重新计算。"
        ),
        "spend_estimated": "{spend}（估算）",
        "spend_split": "{spend}（图片服务报告 {reported}，按价格表估算 {estimated}）",
        "show_spend_limit": "每日花费上限",
        "set_spend_limit": "✅ 本服务器每天的花费上限：{value}。",
        "cmd_spend_limit": "整个服务器每个 UTC 日可以花费的美元数。",
        "opt_usd": "每天的美元数（0 或不填：不限）。",
        "modlog_spend_reached": "💸 已达到每日花费上限",
        "modlog_spend_bot": (
            "机器人的每日花费上限（{limit}）正在拒绝请求：今天还剩 {left}。"
            "在计数{when}重新开始前，所有服务器的 /imagine 和 /animate 都会被拒绝；"
            "只有机器人的运营者可以提高它。"
        ),
        "modlog_spend_guild": (
            "本服务器的每日花费上限（{limit}）正在拒绝请求：今天还剩 {left}。"
            "在计数{when}重新开始前，这里的 /imagine 和 /animate 都会被拒绝；"
            "管理员可以用 /imagine-admin spend-limit 提高它。"
        ),
        "modlog_spend_throttled": (
            "每个上限最多每 {minutes} 分钟记录一次；期间被拒绝的成员不再列出。"
        ),
        "field_first_refused": "被拒绝的成员",
    },
}

#: Discord locales served by a catalog language other than their own prefix. Only
#: Simplified Chinese is translated: zh-TW (Traditional) falls back to English.
_LOCALE_LANGUAGES = {"zh-CN": "zh", "zh-TW": FALLBACK_LOCALE}


def language_of(locale: str | None) -> str:
    """The catalog language for a Discord locale such as ``en-US`` or ``zh-CN``."""
    if not locale:
        return FALLBACK_LOCALE
    if locale in _LOCALE_LANGUAGES:
        return _LOCALE_LANGUAGES[locale]
    if locale in CATALOG:
        return locale
    base = locale.split("-", 1)[0]
    return base if base in CATALOG else FALLBACK_LOCALE


def text(key: str, locale: str | None = None, **values: Any) -> str:
    """The message ``key`` in the user's language, with ``values`` filled in."""
    table = CATALOG[language_of(locale)]
    template = table.get(key) or CATALOG[FALLBACK_LOCALE][key]
    return template.format(**values) if values else template
