// Accessibility checks run in the page: headings, labels, text alternatives, language.
() => {
  const problems = [];
  const headings = [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => Number(h.tagName[1]));
  if (headings.filter(level => level === 1).length !== 1) problems.push('there must be exactly one h1');
  if (headings[0] !== 1) problems.push('the first heading must be the h1');
  for (let i = 1; i < headings.length; i++) {
    if (headings[i] > headings[i - 1] + 1) problems.push(`heading level jumps from h${headings[i - 1]} to h${headings[i]}`);
  }
  for (const control of document.querySelectorAll('input, select, textarea, button')) {
    if (control.type === 'hidden') continue;
    const labelled = (control.id && document.querySelector(`label[for="${CSS.escape(control.id)}"]`))
      || control.closest('label') || control.getAttribute('aria-label') || control.getAttribute('aria-labelledby')
      || (control.tagName === 'BUTTON' && control.textContent.trim());
    if (!labelled) problems.push(`control without a label: ${control.outerHTML.slice(0, 120)}`);
  }
  for (const image of document.querySelectorAll('img, svg')) {
    if (image.tagName === 'IMG' && !image.hasAttribute('alt')) problems.push(`image without alt: ${image.src}`);
  }
  if (!document.documentElement.lang) problems.push('the page has no language');
  return problems;
}
