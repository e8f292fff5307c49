export { AdmissionPolicy, type Admission } from './admission.js';
