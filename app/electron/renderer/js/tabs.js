// The side panel's tabs (Analysis, Search, Eve): one shown at a time.

export class Tabs {
  constructor(tablist, { onShow = () => {} } = {}) {
    this.tabs = [...tablist.querySelectorAll('[role="tab"]')];
    this.onShow = onShow;
    for (const tab of this.tabs) tab.addEventListener('click', () => this.show(tab.id.replace(/^tab-/, '')));
  }

  show(name) {
    for (const tab of this.tabs) {
      const selected = tab.id === `tab-${name}`;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      document.getElementById(tab.getAttribute('aria-controls')).hidden = !selected;
    }
    this.onShow(name);
  }
}
