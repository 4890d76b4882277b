"""Every sentence govbot says, in French and English, in one place (core and front ends alike)."""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "say",
    "label",
    "choice_label",
    "status_word",
    "shown_status",
    "counts_text",
    "report_text",
    "problem_text",
    "EXAMPLE_CANDIDATES",
]

_PHRASES: dict[str, tuple[str, str]] = {
    # answers
    "objective_title": ("Objectif {id} — {title}", "Objective {id} — {title}"),
    "objective_word": ("L'objectif {id}", "Objective {id}"),
    "status_line": ("Statut : {status}.", "Status: {status}."),
    "status_none": (
        "Mes sources ne donnent pas de statut officiel pour cet objectif.",
        "My sources give no official status for this objective.",
    ),
    "status_from_report": (
        "Selon « {report} » ({date}).",
        "According to “{report}” ({date}).",
    ),
    "objective_missing": (
        "Je n'ai pas d'objectif {number} dans ma base : la liste officielle numérotée des objectifs n'y est pas chargée.",
        "I have no objective {number} in my knowledge base: the official numbered list of objectives is not loaded.",
    ),
    "axis_missing": (
        "Je n'ai pas d'axe {number} dans les feuilles de route chargées.",
        "I have no axis {number} in the loaded roadmaps.",
    ),
    "objective_missing_known": (
        "Ce que je sais du suivi : {what}",
        "What I know about progress tracking: {what}",
    ),
    "objective_missing_admin": (
        "Un administrateur peut charger la liste officielle (un CSV objectives.csv au format documenté) avec "
        "« govbot refresh --source objectives.csv », ou en écrivant au bot « refresh <url du fichier> ».",
        "An admin can load the official list (an objectives.csv file in the documented format) with "
        "“govbot refresh --source objectives.csv”, or by telling the bot “refresh <url of the file>”.",
    ),
    "owners_are": ("{name} est porté par : {owners}.", "{name} is owned by: {owners}."),
    "owners_none": (
        "Mes sources ne nomment pas de porteur pour {name}.",
        "My sources name no owner for {name}.",
    ),
    "led_by": ("{name} est dirigé(e) par {people}.", "{name} is led by {people}."),
    "led_by_none": (
        "Mes sources ne nomment pas de dirigeant pour {name}.",
        "My sources name no head of {name}.",
    ),
    "person_is": ("{person} : {title}, {actor}{since}.", "{person}: {title}, {actor}{since}."),
    # A tenure: "depuis" only for someone in post; a former holder gets a period; undated people say so.
    "since": (" (depuis {date})", " (since {date})"),
    "since_day": (" (depuis le {date})", " (since {date})"),
    "tenure": (" ({since} – {until})", " ({since} – {until})"),
    "tenure_open": ("?", "?"),
    "tenure_ended": (" (fonction quittée, dates non précisées)", " (left office, dates not given)"),
    "tenure_end_unknown": ("fin non datée", "end not dated"),
    "tenure_undated": (" (dates non précisées par mes sources)", " (dates not given by my sources)"),
    "led_by_none_current": (
        "Mes sources ne nomment personne en poste à la tête de {name}.",
        "My sources name nobody in post at the head of {name}.",
    ),
    "people_former": ("Anciens : {people}.", "Former: {people}."),
    "people_undated": (
        "Cités sans dates de fonction : {people}.",
        "Named without dates of office: {people}.",
    ),
    "decisions_of": ("Décisions — {council}", "Decisions — {council}"),
    "decisions_on": ("Décisions sur « {topic} »", "Decisions on “{topic}”"),
    "decisions_since": ("Décisions prises depuis {date}", "Decisions taken since {date}"),
    "decisions_none_council": (
        "Mes sources ne rapportent aucune décision pour {council}.",
        "My sources report no decision for {council}.",
    ),
    "decisions_none_topic": (
        "Je ne trouve aucune décision sur « {topic} » dans mes sources.",
        "I find no decision on “{topic}” in my sources.",
    ),
    "council_missing": (
        "Je ne connais pas de {number}e Conseil du numérique en santé dans mes sources.",
        "I know of no council number {number} in my sources.",
    ),
    # Councils meet twice a year: the newest one govbot knows may not be the newest one held.
    "council_latest_known": (
        "{council} est le plus récent que je connaisse — base du {date} ; un conseil plus récent a pu se tenir depuis.",
        "{council} is the most recent I know of — knowledge of {date}; a newer one may have met since.",
    ),
    "list_title": ("{what} ({count})", "{what} ({count})"),
    "list_more": ("… et {more} de plus.", "… and {more} more."),
    "less_sure": (
        "(Réponse moins sûre : cette fiche ne répond qu'en partie à votre question ; vérifiez la source.)",
        "(Less sure: this record matches your question only in part; check the source.)",
    ),
    "list_empty": ("Aucun résultat dans ma base pour : {what}.", "Nothing in my knowledge base for: {what}."),
    "objectives_word": ("Objectifs", "Objectives"),
    "objectives_status": ("Objectifs « {status} »", "Objectives “{status}”"),
    "objectives_axis": ("Objectifs de l'axe {axis}", "Objectives of axis {axis}"),
    "objectives_owner": ("Objectifs portés par {owner}", "Objectives owned by {owner}"),
    "objectives_late_or_overdue": (
        "Objectifs en retard, ou à l'échéance passée sans statut publié",
        "Objectives late, or past their due date with no status published",
    ),
    "objectives_reported_colour": (
        "Objectifs notés « {colour} » par leur dernier rapport d'avancement",
        "Objectives rated “{colour}” by their latest progress report",
    ),
    "objectives_about": ("Objectifs sur {programme}", "Objectives about {programme}"),
    "objectives_plan": ("Objectifs de « {plan} »", "Objectives of “{plan}”"),
    "objectives_colour": ("Météo « {colour} »", "Rated “{colour}”"),
    "objectives_no_colour": ("Sans météo renseignée", "No rating given"),
    "objectives_colour_as_status": (
        "(sans colonne météo, « {colour} » est lu comme le statut « {status} »)",
        "(no rating column: “{colour}” read as the status “{status}”)",
    ),
    "objectives_due": ("Échéance entre le {start} et le {end}", "Due between {start} and {end}"),
    "due_word": ("échéance", "due"),
    "overdue_no_status": ("échéance {due} passée, aucun statut publié", "due {due}, now past; no status published"),
    "colour_word": ("météo", "rating"),
    "programmes_start": ("Programmes lancés en {when}", "Programmes started in {when}"),
    "programmes_end": ("Programmes qui se terminent en {when}", "Programmes ending in {when}"),
    "decisions_status": ("Décisions « {status} »", "Decisions “{status}”"),
    "councils_in": ("{what} en {year}", "{what} in {year}"),
    "owned_by": ("{what} — porteur : {owner}", "{what} — owner: {owner}"),
    "no_status_count": (
        "{count} objectif(s) chargé(s) n'ont pas de statut publié.",
        "{count} loaded objective(s) have no published status.",
    ),
    "changes_title": ("Changements de « {old} » à « {new} »", "Changes from “{old}” to “{new}”"),
    "changes_which": (
        "Plusieurs séries de rapports sont chargées : lesquels comparer ?",
        "Several series of progress reports are loaded: which one do you mean?",
    ),
    "changes_choice": ("Changements — {report}", "Changes — {report}"),
    "changes_since_title": ("Nouveautés depuis le {date}", "What is new since {date}"),
    "changes_none": ("Aucun changement de statut entre ces deux rapports.", "No status changed between these reports."),
    "changes_one_report": (
        "Un seul rapport d'avancement est chargé (« {report} », {date}) : il n'y a rien à comparer.",
        "Only one progress report is loaded (“{report}”, {date}): there is nothing to compare.",
    ),
    "changes_no_report": (
        "Aucun rapport d'avancement n'est chargé, je ne peux pas dire ce qui a changé. Un administrateur peut en "
        "charger un (clé « reports: » du format de source).",
        "No progress report is loaded, so I cannot tell what changed. An admin can load one (the “reports:” key "
        "of the source format).",
    ),
    "changes_publication_title": ("Ce qui a changé — {name}", "What changed — {name}"),
    "changes_unpublished": (
        "Les statuts objectif par objectif de « {name} » ne figurent dans aucune de mes sources : je ne peux pas "
        "dire ce qui a changé d'une publication à l'autre. Ce que mes sources en disent :",
        "The objective-by-objective statuses of “{name}” are in none of my sources: I cannot say what changed "
        "from one publication to the next. What my sources say about it:",
    ),
    "history_title": ("« {name} » d'un rapport à l'autre", "“{name}” from one report to the next"),
    "changes_new_decisions": ("Décisions depuis le {date} :", "Decisions since {date}:"),
    "changes_nothing_since": (
        "Rien de nouveau dans mes sources depuis le {date}.",
        "Nothing new in my sources since {date}.",
    ),
    # subscriptions: the commands, then the digest a subscribed channel receives after a refresh
    "subscribed": (
        "C'est noté : ce canal recevra un résumé après chaque mise à jour qui touche {scope}.",
        "Done: this channel will get a digest after every refresh that touches {scope}.",
    ),
    "subscribed_already": ("Ce canal suit déjà {scope}.", "This channel already follows {scope}."),
    "unsubscribed": ("Ce canal ne suit plus {scope}.", "This channel no longer follows {scope}."),
    "unsubscribed_all": (
        "Ce canal ne suit plus rien ({count} abonnement(s) retiré(s)).",
        "This channel follows nothing now ({count} subscription(s) removed).",
    ),
    "unsubscribe_none": ("Ce canal ne suit pas {scope}.", "This channel does not follow {scope}."),
    "subscriptions_none": (
        "Ce canal ne suit rien. Exemple : « abonner axe 1 », « abonner décisions », « abonner tout ce que porte l'ANS ».",
        "This channel follows nothing. For example: “subscribe axis 1”, “subscribe decisions”, “subscribe owner ANS”.",
    ),
    "subscriptions_head": ("Ce canal suit :", "This channel follows:"),
    "subscription_line": ("• {scope}{paused}", "• {scope}{paused}"),
    "subscription_paused": (" (en pause : le canal est injoignable)", " (paused: the channel cannot be reached)"),
    "subscribe_unknown": (
        "Je ne trouve pas « {what} » dans mes sources. Exemples : « abonner tout », « abonner axe 1 », "
        "« abonner objectif 12 », « abonner décisions », « abonner feuille de route 2023-2027 », « abonner porteur ANS ».",
        "I cannot find “{what}” in my sources. Examples: “subscribe everything”, “subscribe axis 1”, “subscribe "
        "objective 12”, “subscribe decisions”, “subscribe roadmap 2023-2027”, “subscribe owner ANS”.",
    ),
    "subscribe_admins_only": (
        "Seul un administrateur peut abonner ce canal (réglage GOVBOT_SUBSCRIBE).",
        "Only an admin may subscribe this channel (setting GOVBOT_SUBSCRIBE).",
    ),
    "subscribe_teams_no_app": (
        "Les abonnements ne sont pas possibles sur Teams sans identifiant d'application (MicrosoftAppId) : "
        "le bot ne peut pas écrire de lui-même dans ce canal.",
        "Subscriptions are not available on Teams without an app id (MicrosoftAppId): the bot cannot post to "
        "this channel on its own.",
    ),
    "scope_all": ("toutes les nouveautés", "everything"),
    "scope_decisions": ("les décisions et les comités", "decisions and councils"),
    "scope_roadmap": ("la feuille de route « {label} »", "the roadmap “{label}”"),
    "scope_axis": ("l'axe {label}", "axis {label}"),
    "scope_objective": ("l'objectif {label}", "objective {label}"),
    "scope_owner": ("ce que porte {label}", "what {label} owns"),
    "scope_admin": ("les messages aux administrateurs", "messages for admins"),
    "digest_title": ("Du nouveau sur {scope}", "News on {scope}"),
    "digest_moved": ("Statuts qui changent", "Status changes"),
    "digest_new_objectives": ("Nouveaux objectifs", "New objectives"),
    "digest_new_decisions": ("Nouvelles décisions", "New decisions"),
    "digest_new_councils": ("Nouveaux comités", "New councils"),
    "digest_new_reports": ("Nouveau rapport d'avancement", "New progress report"),
    "digest_more": ("… et {more} de plus : {url}", "… and {more} more: {url}"),
    "digest_more_no_link": ("… et {more} de plus.", "… and {more} more."),
    "admin_subscription_paused": (
        "Abonnement mis en pause : {platform} {channel} ({scope}) ne peut plus recevoir de messages ({reason}).",
        "Subscription paused: {platform} {channel} ({scope}) can no longer receive messages ({reason}).",
    ),
    "admin_refresh_failed": (
        "La mise à jour programmée a échoué ({reason}) ; les connaissances actuelles continuent de répondre. "
        "Je ne le redirai pas avant qu'une mise à jour réussisse.",
        "The scheduled refresh failed ({reason}); the current knowledge keeps answering. I will not say it "
        "again until a refresh succeeds.",
    ),
    "disputed": ("⚠ Les sources divergent : {note}", "⚠ Sources differ: {note}"),
    "passage_intro": ("D'après « {title} » :", "From “{title}”:"),
    "passage_quote": ("« {text} »", "“{text}”"),
    "change_line": ("• {name} : {was} → {now}", "• {name}: {was} → {now}"),
    "chat_greeting": (
        "govbot — posez une question (Ctrl-D pour quitter) / ask a question (Ctrl-D to quit)",
        "govbot — ask a question (Ctrl-D to quit)",
    ),
    "ask_back": ("Vous parlez de laquelle de ces fiches ?", "Which of these do you mean?"),
    "unknown": (
        "Je ne sais pas répondre à cela avec mes sources, et je préfère ne rien inventer.",
        "I can't answer that from my sources, and I'd rather not make anything up.",
    ),
    "unknown_suggest": ("Peut-être cherchiez-vous :", "Perhaps you were looking for:"),
    "help_title": ("Ce que je sais", "What I know"),
    "help_text": (
        "Je réponds sur la gouvernance du numérique en santé, avec mes sources : {counts}. "
        "Posez une question en français ou en anglais, par exemple :",
        "I answer questions on digital health governance, with my sources: {counts}. "
        "Ask in French or English, for example:",
    ),
    # front ends
    "share": ("Partager dans le canal", "Share in channel"),
    "more_details": ("Plus de détails", "More"),
    "feedback_up": ("Utile", "Helpful"),
    "feedback_down": ("Pas utile", "Not helpful"),
    "feedback_thanks": ("Merci pour votre retour.", "Thanks for your feedback."),
    "more_hint": (
        "… (réponse raccourcie, précisez votre question pour la suite)",
        "… (answer shortened; narrow your question)",
    ),
    "knowledge_date": ("Base du {date}", "Knowledge of {date}"),
    "sources_word": ("Sources", "Sources"),
    "not_admin": (
        "Désolé, cette commande est réservée aux administrateurs de govbot.",
        "Sorry, this command is for govbot admins only.",
    ),
    "refresh_started": (
        "Mise à jour de la base lancée ; je poste le rapport ici quand elle est finie. "
        "La base actuelle continue de répondre.",
        "Knowledge refresh started; I will post the report here when it is done. "
        "The current knowledge keeps answering.",
    ),
    "refresh_busy": ("Une mise à jour est déjà en cours.", "A refresh is already running."),
    "report_head": (
        "Version {version} : {sources} source(s) lue(s) en {seconds} s",
        "Version {version}: {sources} source(s) read in {seconds} s",
    ),
    "report_warning": ("  attention : {warning}", "  warning: {warning}"),
    "refresh_done": ("Base mise à jour : {summary}", "Knowledge refreshed: {summary}"),
    "refresh_failed": (
        "La mise à jour a échoué ; la base précédente continue de répondre. Erreurs :\n{errors}",
        "The refresh failed; the previous knowledge keeps answering. Errors:\n{errors}",
    ),
    "stats_text": (
        "{counts}. Dernière mise à jour : {built}. Questions sur 7 jours : {answered} répondues, "
        "{unanswered} sans réponse.",
        "{counts}. Last refresh: {built}. Questions over 7 days: {answered} answered, {unanswered} unanswered.",
    ),
    "stats_subscriptions": (
        "Abonnements : {active} ({paused} en pause). Dernière mise à jour programmée : {outcome} ({at}){failing}.",
        "Subscriptions: {active} ({paused} paused). Last scheduled refresh: {outcome} ({at}){failing}.",
    ),
    "stats_failing": (", {count} échec(s) d'affilée", ", {count} failure(s) in a row"),
    "roadmap_here": ("Feuille de route de cette conversation : {roadmap}.", "This conversation's roadmap: {roadmap}."),
    "roadmap_set": (
        "Ici, une question qui ne nomme pas de feuille de route portera sur : {roadmap}.",
        "Here, a question that names no roadmap is about: {roadmap}.",
    ),
    "roadmap_unknown": (
        "Je ne connais pas la feuille de route « {roadmap} ». Feuilles de route chargées : {known}.",
        'I know no roadmap "{roadmap}". Roadmaps loaded: {known}.',
    ),
    "unanswered_title": ("Questions les plus fréquentes restées sans réponse", "Most frequent unanswered questions"),
    "unanswered_none": ("Aucune question sans réponse sur 7 jours.", "No unanswered question over 7 days."),
    "sources_title": ("Sources chargées", "Loaded sources"),
    "remembered_title": (
        "Sources ajoutées, relues à chaque mise à jour (« forget <numéro ou url> » pour en retirer une) :",
        "Sources added, read again at every refresh (“forget <number or url>” to remove one):",
    ),
    "remembered_none": (
        "Aucune source ajoutée : seules les données fournies sont chargées.",
        "No source added: only the bundled data is loaded.",
    ),  # fmt: skip
    "forgotten": (
        "Source retirée : {source}. Elle ne sera plus lue à partir de la prochaine mise à jour (« refresh »).",
        "Source removed: {source}. It is no longer read from the next refresh (“refresh”) on.",
    ),
    "forget_unknown": (
        "Aucune source ajoutée ne correspond à « {what} » (« sources » les liste).",
        "No added source matches “{what}” (“sources” lists them).",
    ),
    "rate_limited": (
        "Vous posez beaucoup de questions d'un coup ; réessayez dans une minute.",
        "You are asking a lot at once; please try again in a minute.",
    ),
    "busy": (
        "Je reçois beaucoup de questions en ce moment : reposez la vôtre dans une minute, s'il vous plaît.",
        "I am getting a lot of questions right now: please ask yours again in a minute.",
    ),
    "error": (
        "Désolé, une erreur m'empêche de répondre (réf. {ref}). Réessayez dans un instant.",
        "Sorry, an error stopped me from answering (ref. {ref}). Please try again shortly.",
    ),
    "welcome": (
        "Bonjour, je suis govbot. Je réponds aux questions sur la gouvernance du numérique en santé, "
        "toujours avec la source.",
        "Hello, I am govbot. I answer questions on digital health governance, always with the source.",
    ),
    # Said after the welcome only when there are example questions to offer.
    "welcome_try": ("Essayez :", "Try:"),
    "home_title": ("govbot — gouvernance du numérique en santé", "govbot — digital health governance"),
    # web chat
    "not_ready": (
        "La base de connaissances se prépare ; réessayez dans un instant.",
        "The knowledge base is getting ready; please try again in a moment.",
    ),
    "web_question_label": ("Votre question", "Your question"),
    "web_placeholder": ("Posez votre question…", "Ask your question…"),
    "web_send": ("Envoyer", "Send"),
    "web_you": ("Vous", "You"),
    "web_thinking": ("Je cherche…", "Looking it up…"),
    "web_conversation": ("Conversation", "Conversation"),
    "web_examples": ("Exemples de questions", "Example questions"),
    "web_feedback": ("Cette réponse vous a-t-elle aidé ?", "Was this answer helpful?"),
    "web_switch_language": ("English", "Français"),
    "web_privacy": (
        "Les questions sont enregistrées sans votre identité pour améliorer les réponses. Vérifiez toujours la source.",
        "Questions are logged without your identity to improve answers. Always check the source.",
    ),
    # Slack
    "asked_by": ("{user} a demandé : {question}", "{user} asked: {question}"),
    "slack_usage": (
        "Mentionnez-moi dans un canal, écrivez-moi en message direct ou tapez /govbot suivi de votre question.",
        "Mention me in a channel, send me a direct message or type /govbot followed by your question.",
    ),
    # Matrix / Tchap (no buttons: numbers, words and reactions instead)
    "matrix_choose": (
        "Répondez par le numéro ou les mots de votre choix.",
        "Reply with the number or the words of your choice.",
    ),
    "matrix_more": ("Répondez « plus » pour la suite.", "Reply “more” for the rest."),
    "matrix_feedback": ("Réagissez 👍 ou 👎 pour noter cette réponse.", "React 👍 or 👎 to rate this answer."),
    "matrix_joined": (
        "Bonjour, je suis govbot : mentionnez-moi ou répondez à l'un de mes messages pour poser une question "
        "sur la gouvernance du numérique en santé. Mes réponses citent leurs sources.",
        "Hello, I am govbot: mention me or reply to one of my messages to ask about digital health governance. "
        "My answers cite their sources.",
    ),
    "matrix_unencrypted_only": (
        "Je ne lis pas les messages chiffrés : je ne fonctionne que dans les salons non chiffrés.",
        "I cannot read encrypted messages: I work in unencrypted rooms only.",
    ),
    "matrix_server_refused": (
        "govbot n'accepte que les invitations venant de {servers}.",
        "govbot only accepts invitations from {servers}.",
    ),
    # Microsoft Teams app package
    "teams_description_short": (
        "Réponses sourcées sur la gouvernance du numérique en santé.",
        "Sourced answers on digital health governance.",
    ),
    "teams_description_full": (
        "govbot répond aux questions sur la gouvernance du numérique en santé : objectifs de la feuille de route, "
        "qui pilote quoi, décisions des conseils. Chaque réponse cite sa source. Écrivez-lui en conversation "
        "privée, en groupe, ou mentionnez-le dans un canal, en français ou en anglais.",
        "govbot answers questions on digital health governance: roadmap objectives, who owns what, council "
        "decisions. Every answer cites its source. Chat with it privately, in a group, or mention it in a "
        "channel, in French or English.",
    ),
    "teams_command_help": ("Ce que je sais, avec des exemples de questions", "What I know, with example questions"),
    "teams_command_refresh": (
        "Administrateurs : recharger la base depuis les sources",
        "Admins: reload the knowledge from its sources",
    ),
    "teams_command_stats": (
        "Administrateurs : contenu de la base et questions de la semaine",
        "Admins: what the knowledge holds and this week's questions",
    ),
    "teams_command_unanswered": (
        "Administrateurs : questions fréquentes restées sans réponse",
        "Admins: frequent questions left unanswered",
    ),
    "teams_command_sources": (
        "Administrateurs : sources ajoutées (numérotées) et sources chargées",
        "Admins: sources added (numbered) and sources loaded",
    ),
    "teams_command_forget": (
        "Administrateurs : ne plus lire une source ajoutée (forget <numéro ou url>)",
        "Admins: stop reading an added source (forget <number or url>)",
    ),
    "teams_command_roadmap": (
        "Administrateurs : la feuille de route de cette conversation (roadmap <id>)",
        "Admins: this conversation's roadmap (roadmap <id>)",
    ),
    "teams_command_example": ("Exemple de question", "Example question"),
}

# What a choice button says: the kind of record first, so a programme, a decision and an objective that
# share words read apart ("Objectif 2.1 — …", "Décision du 14e CNS — …"). Councils' names say what they are.
_CHOICE_LABELS: dict[str, tuple[str, str]] = {
    "objectives": ("Objectif {id} — {title}", "Objective {id} — {title}"),
    "decisions": ("Décision du {council} — {title}", "Decision of the {council} — {title}"),
    "programmes": ("Programme — {title}", "Programme — {title}"),
    "actors": ("Acteur — {title}", "Actor — {title}"),
    "axes": ("Axe {id} — {title}", "Axis {id} — {title}"),
    "reports": ("Rapport — {title}", "Report — {title}"),
}

_LABELS: dict[str, tuple[str, str]] = {
    "status": ("Statut", "Status"),
    "progress": ("Avancement", "Progress"),
    "due": ("Échéance", "Due"),
    "owners": ("Porteurs", "Owners"),
    "axis": ("Axe", "Axis"),
    "priority": ("Priorité", "Priority"),
    "report": ("Rapport le plus récent connu", "Most recent report known"),
    "updated": ("Mis à jour", "Updated"),
    "people": ("Dirigeants", "Leaders"),
    "parent": ("Tutelle", "Under"),
    "kind": ("Nature", "Kind"),
    "budget": ("Budget", "Budget"),
    "start": ("Début", "Start"),
    "end": ("Fin", "End"),
    "date": ("Date", "Date"),
    "place": ("Lieu", "Place"),
    "participants": ("Participants", "Participants"),
    "council": ("Conseil", "Council"),
    "amount": ("Montant", "Amount"),
    "decisions": ("Décisions", "Decisions"),
    "objectives": ("Objectifs", "Objectives"),
    "published": ("Publié le", "Published"),
    "comment": ("Commentaire", "Comment"),
    "roadmap": ("Feuille de route", "Roadmap"),
    "actors": ("acteurs", "actors"),
    "axes": ("axes", "axes"),
    "councils": ("conseils", "councils"),
    "programmes": ("programmes", "programmes"),
    "reports": ("rapports d'avancement", "progress reports"),
    "passages": ("passages de documents", "document passages"),
}

_STATUS_WORDS: dict[str, tuple[str, str]] = {
    "not_started": ("non démarré", "not started"),
    "in_progress": ("en cours", "in progress"),
    "late": ("en retard", "late"),
    "on_hold": ("suspendu", "on hold"),
    "postponed": ("reporté", "postponed"),
    "done": ("réalisé", "done"),
    "dropped": ("abandonné", "dropped"),
}

# Example questions, best first. Users see only those the loaded knowledge answers directly
# (knowledge/examples.py): a candidate whose record is missing or says too little is skipped.
EXAMPLE_CANDIDATES: dict[str, list[str]] = {
    "fr": [
        "Qui pilote HospiConnect ?",
        "Qu'a décidé le 14e Conseil du numérique en santé ?",
        "Qui dirige l'ANS ?",
        "C'est quoi le programme CaRE ?",
        "Où en est l'objectif 23 ?",
        "Qui pilote Pro Santé Connect ?",
        "Qu'est-ce que Mon espace santé ?",
        "Qui dirige la DNS ?",
        "Qui pilote le Ségur du numérique ?",
    ],
    "en": [
        "Who owns HospiConnect?",
        "What did the 14th CNS decide?",
        "Who leads ANS?",
        "What is the CaRE programme?",
        "What is the status of objective 23?",
        "Who owns the DMP?",
        "Who leads the digital health delegation?",
        "Who is in charge of the CaRE programme?",
    ],
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def say(key: str, lang: str, **values: object) -> str:
    """The sentence `key` in `lang` ('fr' or 'en'), with its placeholders filled."""
    return _pick(_PHRASES[key], lang).format(**values)


def label(key: str, lang: str) -> str:
    """A field label; unknown keys (extra fields from sources) are shown as written."""
    return _pick(_LABELS[key], lang) if key in _LABELS else key.replace("_", " ").capitalize()


def choice_label(kind: str, lang: str, *, id: str, title: str, council: str = "") -> str:
    """The label of a choice leading to a record of `kind` (a decision without council: just its title)."""
    if kind not in _CHOICE_LABELS or (kind == "decisions" and not council):
        return title
    return _pick(_CHOICE_LABELS[kind], lang).format(id=id, title=title, council=council)


_MONTHS = (
    tuple("janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()),
    tuple("January February March April May June July August September October November December".split()),
)


def date_words(iso: str, lang: str) -> str:
    """'2023-05' -> 'mai 2023' / 'May 2023'; '2025-12-08' -> '8 décembre 2025'; anything else as written."""
    parts = iso.split("-")
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        return iso
    month = _pick(_MONTHS, lang)[int(parts[1]) - 1]
    day = [str(int(parts[2]))] if len(parts) == 3 else []
    return " ".join([*day, month, parts[0]])


def status_word(status: str | None, lang: str) -> str:
    return _pick(_STATUS_WORDS[status], lang) if status in _STATUS_WORDS else ""


def decision_word(bucket: str, lang: str) -> str:
    return _pick(_DECISION_WORDS[bucket], lang) if bucket in _DECISION_WORDS else bucket


# The traffic-light colours of a roadmap's rating column ("météo"), as a list filter names them.
_COLOUR_NAMES: dict[str, tuple[str, str]] = {
    "red": ("rouge", "red"),
    "orange": ("orange", "amber"),
    "green": ("vert", "green"),
}


def colour_name(colour: str, lang: str) -> str:
    return _pick(_COLOUR_NAMES[colour], lang) if colour in _COLOUR_NAMES else colour


_DECISION_WORDS: dict[str, tuple[str, str]] = {
    "adopted": ("adoptée", "adopted"),
    "postponed": ("ajournée", "postponed"),
    "rejected": ("rejetée", "rejected"),
    "presented": ("présentée pour information", "presented for information"),
    "in_progress": ("en cours", "in progress"),
    "done": ("mise en œuvre", "implemented"),
    "dropped": ("abandonnée", "dropped"),
}


def shown_status(record: dict[str, Any], lang: str, decision: bool = False) -> str:
    """The source's own word, with the bucket it counts in when that says something else:
    'suspendu', 'lancé (en cours)', 'vert (in progress)'."""
    bucket = record.get("status")
    pair = (_DECISION_WORDS if decision else _STATUS_WORDS).get(bucket or "", ("", ""))
    canonical = _pick(pair, lang)
    word = (record.get("status_text") or "").strip()
    # A word that is the bucket's own name in either language adds nothing: said in the reader's language.
    if not word or _plain(word) in (_plain(pair[0]), _plain(pair[1]), _plain(bucket or "")):
        return canonical or word
    return f"{word} ({canonical})" if canonical else word


def _plain(text: str) -> str:
    from .text import fold

    return fold(text)


def counts_text(counts: dict[str, int], lang: str) -> str:
    """'18 acteurs, 26 objectifs, …' (kinds with no record left out)."""
    return ", ".join(f"{n} {label(kind, lang).lower()}" for kind, n in counts.items() if n)


def report_text(report: Any, lang: str) -> str:
    """A refresh report (a `RefreshReport`) as the lines an admin reads, in their language."""
    lines = [
        say("report_head", lang, version=report.version, sources=len(report.sources), seconds=f"{report.duration:.2f}")
    ]
    for kind in sorted(report.counts):
        change = f"+{report.added.get(kind, 0)} ~{report.changed.get(kind, 0)} -{report.removed.get(kind, 0)}"
        lines.append(f"  {label(kind, lang).lower()}: {report.counts[kind]} ({change})")
    lines += [say("report_warning", lang, warning=translate_problem(w, lang)) for w in report.warnings]
    return "\n".join(lines)


# Refusal and warning lines in the admin's language. Messages are written in English where they are made
# (sources.py, store.py); each pattern below gives the French line. A message without one stays English.
_PROBLEM_FR: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), fr)
    for p, fr in [
        (r"^unknown status '(.*)': add it to the source as (.*) \(one of (.*)\)$",
         r"statut inconnu « \1 » : ajoutez à la source la ligne \2 (l'un de \3)"),
        (r"^unknown decision status '(.*)': add it to the source as (.*) \(one of (.*)\)$",
         r"statut de décision inconnu « \1 » : ajoutez à la source la ligne \2 (l'un de \3)"),
        (r"^not a date: '(.*?)' \(use (.*)\)$", r"date illisible : « \1 » (écrivez \2)"),
        (r"^expected a number from 0 to 100, got '(.*)'$", r"attendu un nombre de 0 à 100, lu « \1 »"),
        (r"^expected a whole number, got '(.*)'$", r"attendu un nombre entier, lu « \1 »"),
        (r"^missing id$", "identifiant manquant"),
        (r"^missing title$", "titre manquant"),
        (r"^missing name$", "nom manquant"),
        (r"^duplicate id \(also in (.*), row (\d+)\)$", r"identifiant en double (aussi dans \1, ligne \2)"),
        (r"^duplicate id \(also in (.*)\)$", r"identifiant en double (aussi dans \1)"),
        (r"^no source URL .*$", "pas d'adresse de source (donnez une url à la ligne, ou au fichier source: {url: ...})"),
        (r"^not an http\(s\) URL: (.*)$", r"adresse non http(s) : \1"),
        (r"^no such file or folder$", "fichier ou dossier introuvable"),
        (r"^cannot parse: (.*)$", r"illisible : \1"),
        (r"^empty source$", "source vide"),
        (r"^unknown record type '(.*?)' \(expected .*\): name the file .*$",
         r"type de fiches inconnu « \1 » : nommez le fichier objectifs.csv, acteurs.csv, décisions.csv, "
         r"conseils.csv, bilans.csv, axes.csv, ou ajoutez ?type=objectives"),
        (r"^unknown record type '(.*?)' .*$", r"type de fiches inconnu « \1 »"),
        (r"^unknown roadmap '(.*?)': declare it in one source as (.*)$",
         r"feuille de route inconnue « \1 » : déclarez-la dans une source avec \2"),
        (r"^could not fetch \((.*)\)$", r"téléchargement impossible (\1)"),
        (r"^HTTP (\d+) (.*)$", r"HTTP \1 \2"),
        (r"^larger than (\d+) MB$", r"plus de \1 Mo"),
        (r"^(.*): (.*); using the copy fetched on (.*)$",
         r"\1 : \2 ; la copie téléchargée le \3 est utilisée à la place"),
        (r"^(.*): not UTF-8, read as Windows-1252/Latin-1$", r"\1 : pas en UTF-8, lu en Windows-1252/Latin-1"),
        (r"^(.*) '(.*)': owner '(.*)' names no actor$", r"\1 « \2 » : le porteur « \3 » ne désigne aucun acteur"),
    ]
]  # fmt: skip


def translate_problem(message: str, lang: str) -> str:
    """An English refusal or warning message in French when `lang` is 'fr' (else as is)."""
    if lang != "fr":
        return message
    if m := re.match(r"^objective '(.*?)': (.*)$", message):  # a progress report's line
        return f"objectif « {m[1]} » : {translate_problem(m[2], lang)}"
    for pattern, french in _PROBLEM_FR:
        if pattern.match(message):
            return pattern.sub(french, message, count=1)
    return message


def problem_text(problem: Any, lang: str) -> str:
    """A `SourceProblem` as one line: the file (and sheet), the record or row, the field or column, what."""
    fr = lang == "fr"
    where = [problem.source]
    rid = f" (id {problem.record_id!r})" if problem.record_id else ""
    if problem.record_type is not None and problem.row is not None and problem.tabular:
        where.append(f"{'ligne' if fr else 'row'} {problem.row}{rid}")
    elif problem.record_type is not None and problem.index is not None:
        where.append(f"{problem.record_type}[{problem.index}]{rid}")
    if problem.field:
        word = ("colonne" if fr else "column") if problem.tabular else ("champ" if fr else "field")
        where.append(f"{word} {problem.field!r}")
    return ": ".join([", ".join(where), translate_problem(problem.message, lang)])
