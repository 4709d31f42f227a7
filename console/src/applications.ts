export interface Application {
  id: string;
  status: string;
  kind: 'new' | 'renewal' | 'rekey';
  holderType: string;
  holder: { commonName: string; organization?: string };
  profile: string;
  template: string;
  templateVersion: number;
  dual: boolean;
  encryption: { template: string; templateVersion: number } | null;
  enteredBy: string;
  enteredAt: string;
  deadline: string;
  overdue: boolean;
  operatorId?: string | null;
}

export const formatTime = (iso: string, lang: string) =>
  new Date(iso).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', {
    dateStyle: 'medium',
    timeStyle: 'short',
  });
