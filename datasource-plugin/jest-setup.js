// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';

// jsdom has no IntersectionObserver; Grafana's select menus use it only for scroll shadows.
if (typeof window !== 'undefined' && !window.IntersectionObserver) {
  window.IntersectionObserver = class {
    observe() {}
    unobserve() {}
    disconnect() {}
    takeRecords() {
      return [];
    }
  };
}

// jsdom has no canvas (the scaffold's getContext returns nothing); Grafana's Combobox sizes its menu from
// measureText, so give it a 2d context that measures roughly 7 px a character.
HTMLCanvasElement.prototype.getContext = function () {
  return {
    font: '',
    measureText: (text) => ({ width: String(text).length * 7, actualBoundingBoxAscent: 10, actualBoundingBoxDescent: 3 }),
  };
};
