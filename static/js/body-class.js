// Loaded at the top of <body> (CSP allows no inline script): lets GOV.UK Frontend
// and MOJ Frontend styles know JavaScript runs and ES modules are supported.
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' govuk-frontend-supported' : '')
