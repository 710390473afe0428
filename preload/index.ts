// The preload: bundled to one CommonJS file so the window stays sandboxed.
import { contextBridge, ipcRenderer } from 'electron';
import { createBridge } from './bridge.ts';

contextBridge.exposeInMainWorld('sibyl', createBridge(ipcRenderer));
