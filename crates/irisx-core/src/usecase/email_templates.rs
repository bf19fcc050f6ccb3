//! A tenant's email templates: create (every part must parse), list, read, change, delete, preview with sample
//! variables, and render one for a send. A template error is a 422 naming the part and the line.

use serde_json::Value;
use time::OffsetDateTime;

use super::Platform;
use super::email::{READ, SEND};
use super::principal::TenantPrincipal;
use crate::email::template::{self, EmailTemplate, Parts};
use crate::error::{CoreError, FieldError};
use crate::id::{TemplateId, TenantId};
use crate::page::{Page, PageRequest};
use crate::validate::{Checks, name};

/// A template's fields as a request gives them; on a change, `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct TemplateInput {
    /// A name, unique per tenant (1 to 100 characters).
    pub name: Option<String>,
    /// The subject's source.
    pub subject: Option<String>,
    /// The HTML part's source.
    pub html: Option<String>,
    /// The text part's source.
    pub text: Option<String>,
}

fn checked(name_text: &str, parts: Parts) -> Result<(String, Parts), CoreError> {
    let mut c = Checks::new();
    let n = c.check(name("name", name_text, 100));
    if parts.subject.trim().is_empty() {
        c.push(FieldError::new("subject", "required", "give the subject's source"));
    }
    if parts.html.as_deref().is_none_or(str::is_empty) && parts.text.as_deref().is_none_or(str::is_empty) {
        c.push(FieldError::new("html", "required", "give an html or a text part"));
    }
    for (field, part) in [
        ("html", &parts.html),
        ("text", &parts.text),
        ("subject", &Some(parts.subject.clone())),
    ] {
        if part.as_ref().is_some_and(|p| p.len() > template::MAX_RENDERED_BYTES) {
            c.push(FieldError::new(field, "too_large", "at most 512 KB"));
        }
    }
    if let Err(errors) = template::check(&parts) {
        errors.into_iter().for_each(|e| c.push(e));
    }
    c.finish()?;
    Ok((n.unwrap_or_default(), parts))
}

/// Stores a new template.
pub async fn create(p: &Platform, by: &TenantPrincipal, input: TemplateInput) -> Result<EmailTemplate, CoreError> {
    by.authorize(SEND)?;
    let parts = Parts {
        subject: input.subject.unwrap_or_default(),
        html: input.html,
        text: input.text,
    };
    let (name, parts) = checked(input.name.as_deref().unwrap_or_default(), parts)?;
    let now = OffsetDateTime::now_utc();
    let t = EmailTemplate {
        id: TemplateId::new(),
        tenant_id: by.tenant_id().clone(),
        name,
        parts,
        created_at: now,
        updated_at: now,
    };
    p.email.create_template(&t).await?;
    Ok(t)
}

/// Changes a template: the given fields replace the current ones (an empty html or text removes that part).
pub async fn update(
    p: &Platform,
    by: &TenantPrincipal,
    id: &TemplateId,
    input: TemplateInput,
) -> Result<EmailTemplate, CoreError> {
    by.authorize(SEND)?;
    let mut t = p.email.get_template(by.tenant_id(), id).await?;
    let parts = Parts {
        subject: input.subject.unwrap_or(t.parts.subject),
        html: input.html.map_or(t.parts.html, |h| Some(h).filter(|h| !h.is_empty())),
        text: input.text.map_or(t.parts.text, |x| Some(x).filter(|x| !x.is_empty())),
    };
    let (name, parts) = checked(input.name.as_deref().unwrap_or(&t.name), parts)?;
    t.name = name;
    t.parts = parts;
    t.updated_at = OffsetDateTime::now_utc();
    p.email.update_template(&t).await?;
    Ok(t)
}

/// Reads a template.
pub async fn get(p: &Platform, by: &TenantPrincipal, id: &TemplateId) -> Result<EmailTemplate, CoreError> {
    by.authorize(READ)?;
    Ok(p.email.get_template(by.tenant_id(), id).await?)
}

/// Lists templates, newest first.
pub async fn list(p: &Platform, by: &TenantPrincipal, page: &PageRequest) -> Result<Page<EmailTemplate>, CoreError> {
    by.authorize(READ)?;
    Ok(p.email.list_templates(by.tenant_id(), page).await?)
}

/// Deletes a template.
pub async fn delete(p: &Platform, by: &TenantPrincipal, id: &TemplateId) -> Result<(), CoreError> {
    by.authorize(SEND)?;
    Ok(p.email.delete_template(by.tenant_id(), id).await?)
}

/// Renders a template with sample variables, as a send would.
pub async fn preview(
    p: &Platform,
    by: &TenantPrincipal,
    id: &TemplateId,
    variables: &Value,
) -> Result<Parts, CoreError> {
    by.authorize(READ)?;
    let t = p.email.get_template(by.tenant_id(), id).await?;
    render(&t, variables, "variables")
}

/// The template a send names: a missing or another tenant's is a 422 on `template_id`.
pub(crate) async fn for_send(p: &Platform, tenant: &TenantId, id: &str) -> Result<EmailTemplate, CoreError> {
    let missing = || CoreError::field("template_id", "not_found", "no template of yours has this id");
    let id: TemplateId = id.parse().map_err(|_| missing())?;
    p.email.get_template(tenant, &id).await.map_err(|e| match e {
        crate::ports::store::StoreError::NotFound(_) => missing(),
        other => other.into(),
    })
}

/// Renders a template with `variables` (a JSON object of at most 64 KB, named `variables_field`); a part's
/// error is a 422 on `template.<part>` naming the line.
pub(crate) fn render(t: &EmailTemplate, variables: &Value, variables_field: &str) -> Result<Parts, CoreError> {
    if !variables.is_object() || variables.to_string().len() > 64 * 1024 {
        return Err(CoreError::field(
            variables_field,
            "invalid",
            "must be a JSON object of at most 64 KB",
        ));
    }
    template::render(&t.parts, variables).map_err(|errors| {
        CoreError::Validation(
            errors
                .into_iter()
                .map(|e| FieldError::new(format!("template.{}", e.field), e.code, e.message))
                .collect(),
        )
    })
}
