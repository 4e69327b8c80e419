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
    // accounts admin + logs
    AccountActions => "操作", "Actions";
    AccountActive => "利用中", "Active";
    AccountSuspendedByOperator => "利用停止中（運営事務局）", "Suspended (by the operator)";
    AccountDeactivatedByAdmin => "無効（組織の管理者）", "Deactivated (by the admin)";
    ChangeRole => "権限を変更", "Change role";
    Suspend => "利用停止", "Suspend";
    Deactivate => "無効にする", "Deactivate";
    Reactivate => "利用再開", "Reactivate";
    // exchange-log search + charts
    LogsTitle => "通信ログ", "Exchange log";
    LogsIntro => "各ノードから収集した通信の記録です。運用者はすべて、組織は自組織のシステムが関わった通信と自法人に関する通信を見られます。時刻は JST です。", "Records of the exchanges collected from the nodes. Operators see all of them; an organisation sees the exchanges its systems took part in and those about itself. Times are JST.";
    LogsFrom => "開始 (JST)", "From (JST)";
    LogsTo => "終了 (JST)", "To (JST)";
    LogsRequester => "要求者 (client id)", "Requester (client id)";
    LogsProvider => "提供者 (client id)", "Provider (client id)";
    LogsApi => "API 名", "API";
    LogsStatusClass => "結果", "Outcome";
    LogsCorporateNumber => "法人番号", "Corporate number";
    LogsRequestId => "リクエスト ID", "Request id";
    LogsAboutUs => "自法人に関する通信のみ", "Only exchanges about us";
    LogsSearch => "検索", "Search";
    LogsClear => "条件をクリア", "Clear";
    LogsCsv => "CSV でダウンロード", "Download CSV";
    LogsFilterAll => "すべて", "All";
    LogsFilterOk => "成功 (2xx)", "Success (2xx)";
    LogsFilter4xx => "要求の誤り (4xx)", "Client errors (4xx)";
    LogsFilter5xx => "サーバーの誤り (5xx)", "Server errors (5xx)";
    LogsFilterErrors => "エラーすべて", "All errors";
    LogsRefresh => "更新", "Refresh";
    LogsCount => "{n} 件中 {first}〜{last} 件目", "Records {first}–{last} of {n}";
    LogsPrev => "← 新しい記録", "← Newer";
    LogsNext => "古い記録 →", "Older →";
    LogsChartVolume => "通信数とエラー数", "Exchanges and errors";
    LogsChartLatency => "応答時間 (p50 / p95 / p99)", "Latency (p50 / p95 / p99)";
    LogsChartNote => "1 通信は提供側の記録で 1 回と数えます（最新 100,000 件まで）。", "Each exchange counts once, by the provider's record (newest 100,000 records at most).";
    LogsExchanges => "通信", "exchanges";
    LogsErrors => "エラー", "errors";
    LogsTopApis => "API 別の上位", "Top APIs";
    LogsTopPartners => "相手別の上位", "Top partners";
    LogsColTime => "時刻 (JST)", "Time (JST)";
    LogsColNode => "ノード", "Node";
    LogsColRole => "役割", "Role";
    LogsColRequestId => "リクエスト ID", "Request id";
    LogsColParties => "要求者 → 提供者", "Requester → provider";
    LogsColMethodPath => "メソッド・パス", "Method, path";
    LogsColStatus => "HTTP ステータス", "HTTP status";
    LogsColLatency => "所要時間", "Latency";
    LogsColOutcome => "結果", "Outcome";
    LogsEmpty => "条件に合う記録はありません。", "No records match.";
    LogsOutcomeOk => "成功", "ok";
    LogsOutcomeError => "エラー", "error";
    LogsRoleRequester => "要求側", "requester";
    LogsRoleProvider => "提供側", "provider";
    LogsHeadsTitle => "ログの改ざん検知（署名付きチェーンヘッド）", "Tamper evidence (signed chain heads)";
    LogsHeadsIntro => "各ノードは記録をハッシュで連結し、その先頭に自らの鍵で署名してポータルへ送ります。ポータルは保持する記録を先頭までハッシュし直して確かめます。", "Each node chains its records by hash and signs the newest with its own key when it ships them. The portal re-hashes the records it holds up to that head.";
    LogsHeadsEmpty => "署名付きヘッドはまだありません。", "No signed head has arrived yet.";
    LogsHeadsSeq => "連番 (ハッシュ)", "Seq (hash)";
    LogsHeadsSignedAt => "署名時刻 (JST)", "Signed at (JST)";
    LogsHeadsChecked => "検証した記録数", "Records checked";
    LogsHeadsState => "検証結果", "Result";
    LogsHeadsVerified => "✓ 一致", "✓ verified";
    LogsHeadsBroken => "✗ 不一致:", "✗ broken:";
    // uptime
    NavUptime => "稼働状況", "Uptime";
    UptimeTitle => "稼働状況", "Uptime";
    UptimeIntro => "ポータルが各ノードの /healthz と /readyz を定期的に確認した結果です。停止は連続した失敗で確定し、提供者と利用承認を受けた組織にメールで知らせます。時刻は JST です。", "What the portal's regular probes of each node's /healthz and /readyz found. An outage is confirmed by failures in a row; the provider and the organisations approved to use its APIs are mailed. Times are JST.";
    UptimeNone => "登録されたシステムはありません。", "No systems are registered.";
    UptimeSystem => "システム", "System";
    UptimeState => "状態", "State";
    UptimeSince => "この状態になった時刻", "Since";
    UptimeResponse => "直近の応答時間", "Last response time";
    UptimeUp => "稼働中", "up";
    UptimeDegraded => "低下", "degraded";
    UptimeDown => "停止", "down";
    UptimeUnknown => "未確認", "not yet probed";
    UptimeDay => "24 時間", "24 hours";
    UptimeWeek => "7 日", "7 days";
    UptimeMonth => "30 日", "30 days";
    UptimeChart => "稼働率の推移", "Availability over time";
    UptimeOutages => "停止の履歴", "Outages";
    UptimeNoOutages => "この期間の停止はありません。", "No outages.";
    UptimeOngoing => "継続中", "ongoing";
    NotFoundTitle => "見つかりません", "Not found";
    NotFoundHeading => "404 ページが見つかりません", "404 Not found";
    NotFoundPage => "このページは存在しません。", "This page does not exist.";
    NotFoundBack => "カタログへ戻る", "Back to the catalogue";
    LoadFailed => "データを読み込めませんでした", "Could not load the data";
    RequestFailed => "サーバーとの通信に失敗しました", "The request to the server failed";
    FooterSource => "出典：国税庁法人番号公表サイト（国税庁）", "Source: National Tax Agency Corporate Number Publication Site (NTA)";
    // systems + applications
    WfNavSystems => "システム", "Systems";
    WfNavApis => "公開 API", "Published APIs";
    WfNavApplications => "API 利用申請", "API applications";
    WfSystemsTitle => "システム", "Systems";
    WfSystemsIntro => "組織のシステム（ノード）です。API の提供・利用はシステム単位で行います。", "Your organisation's systems (nodes). APIs are provided and used per system.";
    WfNoSystems => "登録されたシステムはありません。", "No system is registered yet.";
    WfRegisterSystem => "システムを登録", "Register a system";
    WfEditSystem => "システムを編集", "Edit the system";
    WfClientId => "クライアント ID", "Client id";
    WfClientIdHint => "英小文字・数字・ハイフンで 3〜64 文字。登録後は変更できません。", "3 to 64 lower-case letters, digits or hyphens; cannot be changed later.";
    WfSystemName => "システム名", "System name";
    WfEndpoint => "エンドポイント URL", "Endpoint URL";
    WfEndpointHint => "ノードの URL（http または https、クエリなし）。", "The node's URL (http or https, no query).";
    WfPublicKey => "公開鍵（Ed25519）", "Public key (Ed25519)";
    WfPublicKeyHint => "ノードの Ed25519 公開鍵（32 バイト、base64url）。", "The node's Ed25519 public key (32 bytes, base64url).";
    WfSave => "保存する", "Save";
    WfCancel => "キャンセル", "Cancel";
    WfEdit => "編集", "Edit";
    WfSystemRegistered => "システムを登録しました。", "The system is registered.";
    WfSystemSaved => "システムを更新しました。", "The system is updated.";
    WfNeedSystem => "先にシステムを登録してください。", "Register a system first.";
    WfApisTitle => "公開 API", "Published APIs";
    WfApisIntro => "組織が提供する API です。公開すると利用者がカタログから申請できます。", "The APIs your organisation provides. Once published, others find them in the catalogue and apply.";
    WfNoApis => "公開している API はありません。", "Your organisation publishes no API yet.";
    WfPublishTitle => "API を公開", "Publish an API";
    WfSlug => "スラッグ（URL 名）", "Slug (URL name)";
    WfSlugHint => "英小文字・数字・ハイフンで 3〜64 文字。公開後は変更できません。", "3 to 64 lower-case letters, digits or hyphens; cannot be changed later.";
    WfApiName => "API 名", "API name";
    WfSummary => "概要", "Summary";
    WfDescription => "説明", "Description";
    WfCategories => "データカテゴリ", "Data categories";
    WfCategoriesHint => "カンマ・読点・改行で区切って複数指定できます（1〜10 個）。", "Several, separated by commas or new lines (1 to 10).";
    WfScopes => "スコープ", "Scopes";
    WfExtraScopes => "拡張スコープ", "Extension scopes";
    WfExtraScopesHint => "任意。x- で始まる拡張ブロック（例: x-nta）をカンマ区切りで。", "Optional: extension blocks starting with x- (e.g. x-nta), separated by commas.";
    WfConsentRequired => "本人（法人）の同意が必要", "Consent of the corporation is required";
    WfTerms => "利用条件", "Terms of use";
    WfPathTemplate => "パス", "Path";
    WfPathTemplateHint => "提供ノードでのパス（例: /v1/corporations/{number}）。", "The path at the provider node (e.g. /v1/corporations/{number}).";
    WfOpenApi => "OpenAPI 3 文書", "OpenAPI 3 document";
    WfOpenApiHint => "JSON または YAML。保存時に検査され、誤りの場所が表示されます。", "JSON or YAML. It is checked on save; a problem is shown with its place.";
    WfOpenApiFile => "ファイルから読み込む", "Load from a file";
    WfFileUnreadable => "ファイルを読み込めませんでした。", "The file could not be read.";
    WfVersion => "バージョン", "Version";
    WfVersionHint => "省略すると文書の info.version を使います。", "Leave empty to use the document's info.version.";
    WfPublishSubmit => "公開する", "Publish";
    WfApiPublished => "API を公開しました。", "The API is published.";
    WfNewVersion => "新しいバージョン", "New version";
    WfAddVersion => "バージョンを追加", "Add the version";
    WfVersionAdded => "新しいバージョンを公開しました。", "The new version is published.";
    WfUnpublish => "公開を停止", "Unpublish";
    WfRepublish => "再公開", "Publish again";
    WfUnpublished => "公開を停止しました。", "The API is unpublished.";
    WfRepublished => "再公開しました。", "The API is published again.";
    WfPublished => "公開中", "Published";
    WfUnpublishedState => "公開停止中", "Unpublished";
    WfOpenInCatalogue => "カタログで見る", "View in the catalogue";
    WfApplicationsTitle => "API 利用申請", "API-use applications";
    WfApplicationTitle => "API 利用申請", "API-use application";
    WfSide => "申請の立場", "Side";
    WfAsRequester => "利用者として", "As requester";
    WfAsProvider => "提供者として", "As provider";
    WfAllStatuses => "すべて", "All";
    WfFilter => "絞り込む", "Filter";
    WfClearFilter => "絞り込みを解除", "Clear the filter";
    WfEmptyRequester => "まだ API の利用を申請していません。", "You have not applied for any API yet.";
    WfEmptyRequesterHint => "カタログで API を探し、詳細ページから申請できます。", "Find an API in the catalogue and apply from its page.";
    WfEmptyProvider => "あなたの API への申請はまだありません。", "No one has applied for your APIs yet.";
    WfEmptyProviderHint => "API を公開すると、利用者からの申請がここに届きます。", "Publish an API; applications for it arrive here.";
    WfEmptyFiltered => "この状態の申請はありません。", "No application has this status.";
    WfEmptyFilteredHint => "別の状態を選ぶか、絞り込みを解除してください。", "Choose another status or clear the filter.";
    WfFindApi => "カタログで API を探す", "Find an API in the catalogue";
    WfNumber => "番号", "No.";
    WfApi => "対象 API", "API";
    WfRequester => "利用者", "Requester";
    WfProvider => "提供者", "Provider";
    WfSystem => "システム", "System";
    WfUpdatedAt => "更新日時", "Updated";
    WfStatusPending => "審査中", "Pending";
    WfStatusApproved => "承認済み", "Approved";
    WfStatusRejected => "却下", "Rejected";
    WfStatusWithdrawn => "取り下げ", "Withdrawn";
    WfStatusRevoked => "承認取り消し", "Revoked";
    WfStatusUnknown => "不明", "Unknown";
    WfApplyTitle => "API の利用申請", "Apply to use an API";
    WfNoApiChosen => "申請する API が選ばれていません。", "No API is chosen.";
    WfPurpose => "利用目的", "Purpose";
    WfRequestedRateLimit => "希望する呼び出し回数（回/分）", "Requested rate limit (calls per minute)";
    WfGrantedRateLimit => "許可する呼び出し回数（回/分）", "Granted rate limit (calls per minute)";
    WfRateLimit => "呼び出し回数", "Rate limit";
    WfRateLimitHint => "1〜100000 の整数。", "A whole number from 1 to 100000.";
    WfRateLimitInvalid => "1〜100000 の整数を入力してください", "Give a whole number from 1 to 100000";
    WfPerMinute => "回/分", "per minute";
    WfCommentHint => "任意。改行はそのまま相手に表示されます。", "Optional. Line breaks are shown to the other side as typed.";
    WfApplySubmit => "申請する", "Apply";
    WfRequestedScopes => "申請スコープ", "Requested scopes";
    WfGrantedScopes => "許可するスコープ", "Granted scopes";
    WfHistory => "履歴", "History";
    WfActionSubmitted => "申請", "Submitted";
    WfActionApproved => "承認", "Approved";
    WfActionRejected => "却下", "Rejected";
    WfActionWithdrawn => "取り下げ", "Withdrawn";
    WfActionRevoked => "承認取り消し", "Revoked";
    WfDecideTitle => "審査", "Decide";
    WfDecideHint => "承認するときはスコープを絞り込み、呼び出し回数を設定できます。", "When approving you may narrow the scopes and set the rate limit.";
    WfRejectHint => "却下する場合は理由が必要です。", "A rejection needs a reason.";
    WfApproved => "申請を承認しました。", "The application is approved.";
    WfRejected => "申請を却下しました。", "The application is rejected.";
    WfRevokeTitle => "承認の取り消し", "Revoke the approval";
    WfRevoke => "承認を取り消す", "Revoke";
    WfRevoked => "承認を取り消しました。", "The approval is revoked.";
    WfWithdrawTitle => "申請の取り下げ", "Withdraw the application";
    WfWithdraw => "取り下げる", "Withdraw";
    WfWithdrawn => "申請を取り下げました。", "The application is withdrawn.";
    WfShowCurrent => "最新の状態を表示", "Show the current state";
    WfReloaded => "最新の状態を表示しています。", "Showing the current state.";
    // end systems + applications
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
    CatPastLastPage => "このページには API がありません。前のページに戻ってください。", "There is no API on this page: go back to an earlier page.";
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

/// `text` with each `{name}` replaced by its value (catalogue texts with numbers in them).
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(text.to_owned(), |acc, (name, value)| {
        acc.replace(&format!("{{{name}}}"), value)
    })
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
    fn placeholders_are_filled_in_both_languages() {
        for lang in [Lang::Ja, Lang::En] {
            let text = fill(
                M::LogsCount.text(lang),
                &[("n", "30"), ("first", "11"), ("last", "20")],
            );
            assert!(!text.contains('{'), "{text}");
            assert!(
                text.contains("30") && text.contains("11") && text.contains("20"),
                "{text}"
            );
        }
        assert_eq!(
            fill(
                M::LogsCount.text(Lang::En),
                &[("n", "2"), ("first", "1"), ("last", "2")]
            ),
            "Records 1–2 of 2"
        );
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
