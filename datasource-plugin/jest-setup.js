// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';

// jsdom has no MessageChannel; React 19's react-dom/server (which @grafana/ui 13 loads for TruncatedText) creates
// one when loaded. Delivery by timer: Node's own MessagePort, once listened to, keeps jest from exiting.
if (typeof window !== 'undefined' && !window.MessageChannel) {
  class Port {
    onmessage = null;
    other = null;
    postMessage(data) {
      setTimeout(() => this.other?.onmessage?.({ data }), 0);
    }
    start() {}
    close() {}
    addEventListener() {}
    removeEventListener() {}
  }
  global.MessageChannel = class MessageChannel {
    constructor() {
      this.port1 = new Port();
      this.port2 = new Port();
      this.port1.other = this.port2;
      this.port2.other = this.port1;
    }
  };
}

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
