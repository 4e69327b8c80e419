//! The portal's message catalogue: every UI string of the accounts pages and the header, in
//! Japanese (the default) and English, behind one typed key ([`M`]). A missing translation is a
//! compile error, and components never carry literal strings of their own.
//!
//! The language comes from `?lang=ja|en` (which also sets the `renkei_lang` cookie) or that
//! cookie; the server renders `<html lang>` from it and the browser reads it back from there, so
//! both sides render the same text and hydration matches.

use leptos::prelude::*;

/// A UI language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Ja,
    En,
}

/// Cookie that remembers the chosen language.
pub const LANG_COOKIE: &str = "renkei_lang";

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim() {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language a request asks for: `?lang=` first, then the cookie, else Japanese.
    /// Also returns whether the query chose it (the server then stores it in the cookie).
    pub fn from_request(query: Option<&str>, cookie_header: Option<&str>) -> (Lang, bool) {
        let from_query = query.and_then(|q| {
            q.split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(k, _)| *k == "lang")
                .and_then(|(_, v)| Lang::parse(v))
        });
        if let Some(lang) = from_query {
            return (lang, true);
        }
        let from_cookie = cookie_header.and_then(|c| {
            c.split(';')
                .filter_map(|pair| pair.trim().split_once('='))
                .find(|(k, _)| *k == LANG_COOKIE)
                .and_then(|(_, v)| Lang::parse(v))
        });
        (from_cookie.unwrap_or_default(), false)
    }

    /// The API's messages are bilingual, `日本語 / English`, some after a `field: ` prefix;
    /// this keeps the part in this language.
    pub fn pick(self, message: &str) -> &str {
        let message = strip_field(message).1;
        match message.split_once(" / ") {
            Some((ja, en)) => match self {
                Lang::Ja => ja.trim(),
                Lang::En => en.trim(),
            },
            None => message,
        }
    }
}

/// Splits `field: text` into the field name (lowercase ASCII and `_`) and the text.
pub fn strip_field(message: &str) -> (Option<&str>, &str) {
    match message.split_once(": ") {
        Some((field, rest))
            if !field.is_empty() && field.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
        {
            (Some(field), rest)
        }
        _ => (None, message),
    }
}

/// The page's language, as [`crate::App`] provided it.
pub fn use_lang() -> Lang {
    use_context::<Lang>().unwrap_or_default()
}

/// The text of `key` in the page's language.
pub fn t(key: M) -> &'static str {
    key.text(use_lang())
}

macro_rules! catalogue {
    ($($key:ident => $ja:literal, $en:literal;)*) => {
        /// A message key; [`M::text`] gives its text.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum M { $($key),* }

        impl M {
            pub const ALL: &'static [M] = &[$(M::$key),*];

            pub const fn text(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((M::$key, Lang::Ja) => $ja, (M::$key, Lang::En) => $en,)*
                }
            }
        }
    };
}

catalogue! {
    BrandSub => "法人データ連携ポータル", "Corporate data exchange portal";
    NavMain => "メイン", "Main";
    NavHome => "ホーム", "Home";
    NavCatalogue => "カタログ", "Catalogue";
    NavLogs => "通信ログ", "Exchange log";
    NavDocs => "ご利用ガイド", "Guide";
    NavFaq => "よくある質問", "FAQ";
    NavLogin => "ログイン", "Log in";
    NavSignup => "利用申請", "Apply";
    NavLogout => "ログアウト", "Log out";
    NavAccount => "アカウント", "Account";
    NavMembers => "メンバー", "Members";
    NavReview => "利用申請の審査", "Applications";
    NavAccounts => "アカウント一覧", "Accounts";
    NavAudit => "監査ログ", "Audit log";
    NavOutbox => "送信メール", "Mail outbox";
    NavPublish => "お知らせ配信", "Publish notice";
    NavOperator => "運営", "Operator";
    LangSwitchLabel => "言語", "Language";
    EnvironmentLabel => "環境", "Environment";
    Loading => "読み込み中…", "Loading…";
    Sending => "送信中…", "Sending…";
    LoggedInAs => "ログイン中", "Logged in as";
    NeedLogin => "このページを見るにはログインしてください。", "Log in to see this page.";
    NeedOperator => "このページは運営事務局のみが利用できます。", "Only the operator may use this page.";
    NeedOrgAdmin => "このページは組織の管理者のみが利用できます。", "Only an organisation's admin may use this page.";
    // Home and docs
    HomeTitle => "お知らせ", "Notices";
    HomeIntro => "renkei は法人データを組織間で安全に連携するためのポータルです。", "renkei is the portal for exchanging corporate data safely between organisations.";
    NoNotices => "お知らせはまだありません。", "There are no notices yet.";
    PublishedAt => "掲載日時", "Published";
    DocsTitle => "ドキュメント", "Documents";
    // Sign-up
    SignupTitle => "利用申請", "Apply for an account";
    SignupIntro => "組織の情報と管理者のアカウントを入力してください。運営事務局が審査し、結果をメールでお知らせします。", "Enter your organisation and its admin account. The operator reviews the application and tells you the result by mail.";
    FieldOrganisationName => "組織名", "Organisation name";
    FieldCorporateNumber => "法人番号（13 桁）", "Corporate number (13 digits)";
    FieldContactName => "担当者名", "Contact person";
    FieldEmail => "メールアドレス", "Email";
    FieldPassword => "パスワード", "Password";
    FieldNewPassword => "新しいパスワード", "New password";
    FieldNewEmail => "新しいメールアドレス", "New email";
    FieldCurrentPassword => "現在のパスワード", "Current password";
    FieldDisplayName => "氏名", "Name";
    FieldRole => "権限", "Role";
    FieldComment => "コメント", "Comment";
    FieldTitle => "件名", "Title";
    FieldBody => "本文", "Text";
    PasswordHint => "12 文字以上で、英小文字・英大文字・数字・記号のうち 2 種類以上。メールアドレスは含めないでください。", "At least 12 characters mixing two of lower case, upper case, digits and symbols; not your email.";
    SignupSubmit => "申請する", "Apply";
    SignupDoneTitle => "申請を受け付けました", "Application received";
    SignupDoneText => "運営事務局の審査待ちです。審査結果はメールでお知らせします。", "Your application is pending operator review. You will be told the result by mail.";
    // Login
    LoginTitle => "ログイン", "Log in";
    LoginSubmit => "ログイン", "Log in";
    ForgotPassword => "パスワードを忘れた場合", "Forgot your password?";
    NoAccountYet => "アカウントがない場合は利用申請へ", "No account yet? Apply";
    // Password reset
    ResetTitle => "パスワードの再設定", "Reset your password";
    ResetIntro => "登録したメールアドレスに再設定用のリンクを送ります。", "We will mail a link for setting a new password to your registered address.";
    ResetSubmit => "リンクを送る", "Send the link";
    ResetSent => "登録されているアドレスであれば、再設定用のリンクを送りました。メールをご確認ください。", "If the address is registered, a link has been sent to it. Check your mail.";
    SetPasswordTitle => "新しいパスワードの設定", "Set a new password";
    SetPasswordSubmit => "パスワードを設定する", "Set the password";
    PasswordSet => "パスワードを設定しました。ログインしてください。", "Your password is set. You can log in now.";
    // Email change
    AccountTitle => "アカウント", "Account";
    EmailChangeTitle => "メールアドレスの変更", "Change your email address";
    EmailChangeIntro => "新しいアドレスに確認用のリンクを送ります。リンクを開くまでは現在のアドレスでログインできます。", "We will mail a confirmation link to the new address. Until it is opened, your current address still logs in.";
    EmailChangeSubmit => "確認メールを送る", "Send the confirmation";
    EmailChangeSent => "確認メールを送りました。新しいアドレスに届いたリンクを開くと変更が完了します。", "The confirmation was sent. The change is done when you open the link mailed to the new address.";
    EmailConfirmTitle => "メールアドレス変更の確認", "Confirm your new email address";
    EmailConfirmIntro => "下のボタンを押すと、ログインに使うメールアドレスが新しいアドレスに変わります。", "Press the button to make the new address your login.";
    EmailConfirmSubmit => "変更を確定する", "Confirm the change";
    EmailConfirmed => "メールアドレスを変更しました。新しいアドレスでログインしてください。", "Your email address was changed. Log in with the new address.";
    MissingToken => "リンクが正しくありません。メールのリンクをもう一度開いてください。", "This link is not valid: open the link from the mail again.";
    // Invitation
    InvitationTitle => "招待の受諾", "Accept the invitation";
    InvitationIntro => "パスワードを設定すると、組織のメンバーとしてログインできます。", "Set your password to log in as a member of the organisation.";
    // Account
    Organisation => "組織", "Organisation";
    Role => "権限", "Role";
    RoleOperator => "運営事務局", "Operator";
    RoleOrgAdmin => "組織管理者", "Organisation admin";
    RoleOrgMember => "組織メンバー", "Organisation member";
    // Members
    MembersTitle => "メンバー", "Members";
    InviteTitle => "メンバーを招待", "Invite a member";
    InviteSubmit => "招待する", "Invite";
    Invited => "招待メールを送りました。", "The invitation was mailed.";
    PasswordPending => "招待中（パスワード未設定）", "Invited (no password yet)";
    // Operator
    ReviewTitle => "利用申請の審査", "Applications";
    ReviewPending => "審査待ち", "Pending";
    ReviewAll => "すべての組織", "All organisations";
    NoPending => "審査待ちの申請はありません。", "No application is waiting for review.";
    Approve => "承認", "Approve";
    Reject => "却下", "Reject";
    CommentHint => "却下する場合は理由が必要です。申請者へのメールに記載されます。", "A rejection needs a reason; it is put in the mail to the applicant.";
    Status => "状態", "Status";
    StatusPending => "審査中", "Pending";
    StatusApproved => "承認済み", "Approved";
    StatusRejected => "却下", "Rejected";
    AppliedAt => "申請日時", "Applied";
    ReviewedAt => "審査日時", "Reviewed";
    AccountsTitle => "アカウント一覧", "Accounts";
    CreatedAt => "作成日時", "Created";
    AuditTitle => "監査ログ", "Audit log";
    AuditIntro => "運営事務局と組織管理者の操作、およびセキュリティ上の事象（新しい順、時刻は JST）。", "What operators and admins did, and security events (newest first, times in JST).";
    Time => "日時", "Time";
    Actor => "実行者", "Who";
    Action => "操作", "Action";
    Target => "対象", "Target";
    Detail => "詳細", "Detail";
    OutboxTitle => "送信メール", "Mail outbox";
    OutboxIntro => "ポータルが送ったメール（新しい順）。SMTP を設定していない環境ではここで読めます。", "Mails the portal sent, newest first. Without SMTP configured, this is where they can be read.";
    NoMail => "送信されたメールはありません。", "No mail has been sent.";
    MailTo => "宛先", "To";
    PublishTitle => "お知らせの配信", "Publish a notice";
    PublishSubmit => "配信する", "Publish";
    Published => "お知らせを配信しました。", "The notice is published.";
    Empty => "該当するものはありません。", "Nothing to show.";
    // catalogue + detail
    CatTitle => "API カタログ", "API catalogue";
    CatIntro => "公開されている API を検索できます。詳細は新しいタブで開くので、検索結果はそのまま残ります。", "Search the published APIs. Details open in a new tab, so your results stay here.";
    CatSearchLabel => "キーワード", "Keywords";
    CatSearchPlaceholder => "名前・提供者・カテゴリなど", "name, provider, category…";
    CatCategories => "カテゴリ（いずれかに該当）", "Categories (any of them)";
    CatSearchSubmit => "検索", "Search";
    CatClear => "条件をクリア", "Clear the search";
    CatResultsUnit => "件", "APIs";
    CatPage => "ページ", "Page";
    CatPages => "ページ送り", "Pages";
    CatPrev => "前へ", "Previous";
    CatNext => "次へ", "Next";
    CatEmptyNone => "公開中の API はまだありません。", "No API has been published yet.";
    CatEmptyNoMatch => "条件に合う API はありません。", "No API matches your search.";
    CatEmptyHint => "キーワードを減らすか、カテゴリの選択を外してみてください。", "Try fewer words, or untick some categories.";
    CatAllCategories => "すべてのカテゴリ", "All categories";
    CatOpensNewTab => "（新しいタブで開きます）", "(opens in a new tab)";
    CatProvider => "提供者", "Provider";
    CatScopes => "スコープ", "Scopes";
    CatCategory => "カテゴリ", "Categories";
    ConsentRequired => "同意必要", "Consent required";
    ConsentNotRequired => "同意不要", "No consent needed";
    DetailOverview => "概要", "Overview";
    DetailProviderOrg => "提供組織", "Provider organisation";
    DetailClientId => "提供ノード（クライアント ID）", "Provider node (client id)";
    DetailPath => "パス", "Path template";
    DetailConsent => "同意", "Consent";
    DetailTerms => "利用条件", "Terms of use";
    DetailNoTerms => "利用条件の定めはありません。", "No terms were set.";
    DetailApply => "利用申請", "Apply";
    DetailApplyHint => "この API を使うには、組織のシステムについて利用申請をしてください。", "To use this API, apply for one of your organisation's systems.";
    DetailOperations => "操作", "Operations";
    DetailVersion => "版", "version";
    DetailParameters => "パラメータ", "Parameters";
    DetailParamName => "名前", "Name";
    DetailParamIn => "場所", "In";
    DetailParamType => "型", "Type";
    DetailParamRequired => "必須", "Required";
    DetailParamDescription => "説明", "Description";
    DetailYes => "はい", "yes";
    DetailNo => "いいえ", "no";
    DetailRequiredMark => "必須", "required";
    DetailRequestBody => "リクエストボディ", "Request body";
    DetailResponses => "レスポンス", "Responses";
    DetailRecursive => "（再帰：上と同じ構造）", "(recursive: same structure as above)";
    DetailDownload => "OpenAPI をダウンロード（JSON）", "Download OpenAPI (JSON)";
    DetailRaw => "OpenAPI 文書（JSON）", "Raw OpenAPI document (JSON)";
    TryTitle => "試してみる", "Try it";
    TryIntro => "あなたの組織の要求ノードを通してリクエストを送ります。認証情報はブラウザからノードへ直接送られ、ポータルには送られません。", "Sends a request through your organisation's requester node. The credentials go from your browser straight to the node, never to the portal.";
    TryLogin => "ログインすると、自組織の要求ノードを通してこの API を試せます。", "Log in to try this API through your organisation's requester node.";
    TryNodeUrl => "要求ノードの URL", "Requester node URL";
    TryNoSystem => "組織のシステムが登録されていません。要求ノードの URL を入力してください。", "Your organisation has no registered system: enter your requester node's URL.";
    TryUser => "システムのユーザー名（Basic 認証）", "System user (Basic auth)";
    TryPassword => "システムのパスワード（Basic 認証）", "System password (Basic auth)";
    TryOperation => "操作", "Operation";
    TryScopes => "スコープ", "Scopes";
    TrySend => "送信", "Send";
    TryStatus => "ステータス", "Status";
    TryBadUrl => "ノードの URL は http:// または https:// で始めてください。", "The node URL must start with http:// or https://.";
    TryMissingParam => "パスパラメータを入力してください：", "Fill in the path parameter:";
    TryNetwork => "ノードに接続できませんでした。URL と、ノードの cors_origins にこのポータルがあるかを確認してください。", "Could not reach the node: check the URL, and that the node's cors_origins lists this portal.";
    TryNoOperation => "この API には試せる GET 操作がありません。", "This API has no GET operation to try.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_both_languages() {
        for key in M::ALL {
            assert!(!key.text(Lang::Ja).is_empty(), "{key:?} ja");
            assert!(!key.text(Lang::En).is_empty(), "{key:?} en");
            assert_ne!(
                key.text(Lang::Ja),
                key.text(Lang::En),
                "{key:?} is untranslated"
            );
        }
    }

    #[test]
    fn language_from_query_then_cookie_then_japanese() {
        assert_eq!(Lang::from_request(None, None), (Lang::Ja, false));
        assert_eq!(Lang::from_request(Some("lang=en"), None), (Lang::En, true));
        assert_eq!(
            Lang::from_request(Some("token=x&lang=ja"), Some("renkei_lang=en")),
            (Lang::Ja, true)
        );
        assert_eq!(
            Lang::from_request(Some("token=x"), Some("a=b; renkei_lang=en")),
            (Lang::En, false)
        );
        assert_eq!(
            Lang::from_request(Some("lang=fr"), Some("renkei_lang=xx")),
            (Lang::Ja, false)
        );
    }

    #[test]
    fn api_messages_are_split_by_language_and_field() {
        let m = "corporate_number: 法人番号が正しくありません / Not a valid corporate number: bad";
        assert_eq!(strip_field(m).0, Some("corporate_number"));
        assert_eq!(Lang::Ja.pick(m), "法人番号が正しくありません");
        assert_eq!(Lang::En.pick(m), "Not a valid corporate number: bad");
        let plain = "ログインしてください / Please log in.";
        assert_eq!(strip_field(plain).0, None);
        assert_eq!(Lang::En.pick(plain), "Please log in.");
        assert_eq!(Lang::Ja.pick("no slash"), "no slash");
    }
}
